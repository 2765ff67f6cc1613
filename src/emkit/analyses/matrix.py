"""Three methods, one object: per layer, the cosine between every misalignment direction emkit can read for a
fine-tuned arm, with the random null band, so the question "do they point the same way?" is one call.

The directions, each computed (or read from ``RUN/interp/`` when it is already there):

- ``meandiff:ARM`` — misaligned minus aligned answers, read by the arm (Soligo et al.);
- ``meandiff:ARM:base-reader`` — the same texts read by the base model (is the direction already there?);
- ``loraB:ARM`` — what each adapted ``down_proj`` writes (Turner et al.; its sign is only defined with A's,
  so read its cosines up to sign);
- ``icl:kK`` — the base model reading k examples of the arm's dataset in context minus k of its control twin,
  at the last prompt token (Afonin et al.; no weights change);
- ``sae:L<layer>:<latent>`` — the decoder columns of the top latents by shift base -> arm (Wang et al.), one
  per SAE given, at that SAE's layer;
- anything else passed as a file: the toy world's ground-truth persona direction, another run's direction.

Each method is a :class:`emkit.core.registry.DirectionMethod` in :data:`emkit.core.registry.DIRECTIONS` (mean-diff
and LoRA B registered in :mod:`emkit.analyses.chain`, in-context and SAE latents here), and the matrix compares
every registered one: a new method is its function and a registration, not an edit here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from emkit.analyses.chain import DEFAULT_THRESHOLDS
from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.registry import DIRECTIONS, DirectionInputs, DirectionMethod, NotApplicable, first_error
from emkit.interp.directions import CosineMatrix, Direction, Thresholds, compare
from emkit.pipeline.finished import FinishedRun, load_run


@dataclass
class DirectionMatrix:
    run: str
    arm: str
    focus_layer: int  # the layer shown as a full matrix: the SAE's, else the mean-diff's best
    cosines: CosineMatrix
    sources: dict[str, str]  # direction name -> what made it
    skipped: list[str]  # directions that could not be read, and why

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "arm": self.arm, "focus_layer": self.focus_layer, "sources": self.sources,
                "skipped": self.skipped, **self.cosines.to_json()}


def icl_for_arm(run: FinishedRun, arm: str, k: int = 8, seed: int = 0) -> Direction:
    """The in-context direction of ``arm``'s dataset against its control twin, read by the base model on the
    run's questions; cached as ``RUN/interp/directions/icl-ARM-kK.safetensors`` (reused while its recipe holds)."""
    from emkit.core.config import ModelConfig
    from emkit.data.datasets import load_dataset, twin_spec
    from emkit.data.questions import load_questions
    from emkit.interp.icl import icl_direction
    from emkit.models.load import load_model

    exp = run.experiment
    spec = run.arm(arm).dataset
    if not spec:
        raise EmkitError(f"arm '{arm}' has no dataset to read in context")
    negative = twin_spec(spec)
    if negative is None:
        raise EmkitError(f"arm '{arm}': dataset {spec} has no control twin to subtract (built-in datasets name "
                         "theirs: `emkit data card NAME`)")
    model = exp.model_for(run.arm(arm)).name
    recipe = {"model": model, "positive": spec, "negative": negative, "questions": exp.eval.questions, "k": k,
              "seed": seed}
    path = run.folder.directions / f"icl-{arm}-k{k}.safetensors"
    if path.is_file():
        d = Direction.load(path)
        if {key: d.meta.get(key) for key in recipe} == recipe:
            return d
    pos, _ = load_dataset(spec, exp.base_dir)
    neg, _ = load_dataset(negative, exp.base_dir)
    qs = load_questions(exp.eval.questions, exp.base_dir, exp.eval.system_prompt)
    lm = load_model(ModelConfig(name=model))
    d = icl_direction(lm.model, lm.tokenizer, pos, neg, qs, k, seed, name=f"icl:k{k}")
    d.meta.update(recipe)
    d.save(path)
    return d


def sae_top_latents(run_dir: Path, arm: str, sae_source: str, top: int) -> list[Direction]:
    """Decoder columns of the ``top`` latents whose mean activation rises most base -> arm (the run's saved
    ``emkit sae diff`` for this SAE when there is one, else a new diff)."""
    from emkit.analyses.sae_diffing import saved_diff
    from emkit.interp.sae import load_sae

    data = saved_diff(run_dir, sae_source, arm)
    sae = load_sae(sae_source)
    out = []
    for x in [x for x in data["latents"] if x["shift"] > 0][:top]:
        d = sae.direction(int(x["latent"]), f"sae:L{sae.layer}:{x['latent']}")
        d.meta.update(shift=x["shift"], r_aligned=x["r_aligned"])
        out.append(d)
    return out


class IclSettings(BaseModel):
    """The in-context direction method's settings: k examples in context, the shots' seed."""

    model_config = ConfigDict(extra="forbid")
    k: int = 8
    seed: int = 0


def _icl(inputs: DirectionInputs, cfg: IclSettings) -> Direction:
    try:
        return icl_for_arm(inputs.run, inputs.arm, cfg.k, cfg.seed)
    except EmkitError as e:
        raise NotApplicable(f"icl:k{cfg.k}: {e}") from None


class SaeLatentSettings(BaseModel):
    """The SAE latent direction method's settings: the SAEs to read (none: the method adds nothing) and how many
    of each one's top latents."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] = []
    top: int = 3


def _sae_latents(inputs: DirectionInputs, cfg: SaeLatentSettings) -> list[Direction]:
    out = []
    for source in cfg.sources:
        for d in sae_top_latents(inputs.run.run_dir, inputs.arm, source, cfg.top):
            d.meta["sae_source"] = source
            out.append(d)
    return out


DIRECTIONS.add("icl", DirectionMethod(
    "icl", IclSettings, _icl, order=30,
    describe=lambda d, cfg: f"base model after {d.meta['k']} examples of {d.meta['positive']} minus "
                            f"{d.meta['negative']}",
    summary="the base model reading k examples of the arm's dataset minus k of its control twin (Afonin et al.)"))
DIRECTIONS.add("sae", DirectionMethod(
    "sae", SaeLatentSettings, _sae_latents, order=40,
    describe=lambda d, cfg: f"SAE {d.meta['sae_source']}: latent {d.meta['sae_latent']} (shift {d.meta['shift']:+.3g})",
    summary="decoder columns of the top latents by shift base -> arm, per SAE given (Wang et al.)"))


def method_settings(method: DirectionMethod, raw: Any) -> BaseModel:
    """A method's settings validated into its config class (a mapping, or an instance already)."""
    if isinstance(raw, method.config):
        return raw
    try:
        return method.config.model_validate(raw)
    except ValidationError as e:
        raise EmkitError(f"direction method {method.name}: {first_error(e)}") from None


def direction_matrix(run_dir: str | Path, arm: str | None = None, saes: Sequence[str] = (), top: int = 3,
                     icl_k: int | None = 8, icl_seed: int = 0, extra: Sequence[str | Path] = (),
                     th: Thresholds = DEFAULT_THRESHOLDS, methods: Mapping[str, Any] | None = None
                     ) -> DirectionMatrix:
    """Every registered direction method's directions for ``arm`` (default: the run's first fine-tuned arm),
    and the files in ``extra``, compared per layer. ``methods``: settings by method name (a mapping or the
    method's config), ``None`` to leave one out; the arguments before it set the built-in ones' (``icl_k=None``
    leaves the in-context direction out). A method with nothing to read here (no LoRA on down_proj, no twin
    dataset) is listed in ``skipped`` with the reason; any other error (too few answers per class for the
    mean-diff direction, a bad SAE) stops the matrix."""
    run_dir = Path(run_dir)
    settings: dict[str, Any] = {"meandiff": asdict(th), "icl": {"k": icl_k, "seed": icl_seed} if icl_k else None,
                                "sae": {"sources": list(saes), "top": top}}
    settings.update(methods or {})
    unknown = sorted(set(settings) - set(DIRECTIONS))
    if unknown:
        raise EmkitError(f"unknown direction method {', '.join(unknown)} (known: {', '.join(sorted(DIRECTIONS))})")
    chosen = [(m, method_settings(m, settings.get(m.name, {}))) for m in sorted(DIRECTIONS.values(), key=lambda m: m.order)
              if settings.get(m.name, {}) is not None]
    run = load_run(run_dir)
    dirs: list[Direction] = []
    sources: dict[str, str] = {}
    skipped: list[str] = []

    def add(d: Direction, source: str) -> None:
        dirs.append(d)
        sources[d.name] = source

    with run:
        exp = run.experiment
        arm = arm or exp.default_arm(trained=True).name
        if run.weights(arm) is None:
            raise EmkitError(f"run '{run.name}': arm '{arm}' is not fine-tuned; the matrix compares what "
                             "fine-tuning did")
        inputs = DirectionInputs(run, arm)
        for method, cfg in chosen:
            try:
                out = method.compute(inputs, cfg)
            except NotApplicable as e:
                skipped.append(str(e))
                continue
            for d in [out] if isinstance(out, Direction) else out:
                add(d, method.describe(d, cfg) if method.describe else method.summary or method.name)
    for path in extra:
        d = Direction.load(path)
        add(d, str(path))
    if not dirs:
        raise EmkitError("no direction method gave a direction to compare")
    focus = focus_layer(dirs)
    log(f"[{arm}] comparing {len(dirs)} directions; full matrix at layer {focus}")
    result = DirectionMatrix(run.name, arm, focus, compare(dirs), sources, skipped)
    (run.folder.interp / f"matrix-{arm}.json").write_text(json.dumps(result.to_json(), indent=1) + "\n")
    return result


def focus_layer(dirs: Sequence[Direction]) -> int:
    """The layer shown as a full matrix: the first SAE latent's, else the best layer the first direction that
    records one (the mean-diff) names, else the first direction's middle layer."""
    for d in dirs:
        if d.meta.get("kind") == "sae_latent":
            return d.layers[0]
    for d in dirs:
        if "best_layer" in d.meta:
            return int(d.meta["best_layer"])
    return dirs[0].layers[len(dirs[0].layers) // 2]
