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
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emkit.analyses.chain import DEFAULT_THRESHOLDS, interp_dir, mean_diff_direction
from emkit.core.errors import EmkitError
from emkit.core.progress import log
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
    path = interp_dir(run) / "directions" / f"icl-{arm}-k{k}.safetensors"
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


def direction_matrix(run_dir: str | Path, arm: str | None = None, saes: Sequence[str] = (), top: int = 3,
                     icl_k: int | None = 8, icl_seed: int = 0, extra: Sequence[str | Path] = (),
                     th: Thresholds = DEFAULT_THRESHOLDS) -> DirectionMatrix:
    """Every direction above for ``arm`` (default: the run's first fine-tuned arm), compared per layer. A
    direction that cannot be read (no LoRA on down_proj, no twin dataset, too few answers per class) is listed
    in ``skipped`` with the reason; the mean-diff direction is required."""
    from emkit.interp.lora import b_direction

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    dirs: list[Direction] = []
    sources: dict[str, str] = {}
    skipped: list[str] = []

    def add(d: Direction, source: str) -> None:
        dirs.append(d)
        sources[d.name] = source

    try:
        exp = run.experiment
        arm = arm or exp.default_arm(trained=True).name
        if run.weights(arm) is None:
            raise EmkitError(f"run '{run.name}': arm '{arm}' is not fine-tuned; the matrix compares what "
                             "fine-tuning did")
        md = mean_diff_direction(run, arm, "arm", None, th)
        add(md.direction, f"misaligned minus aligned answers ({md.n_per_class} per class), read by {arm}")
        base = mean_diff_direction(run, arm, "base", None, th)
        add(base.direction, "the same answers read by the base model")
        tcfg = exp.train_for(run.arm(arm))
        if tcfg.method == "lora" and "down_proj" in tcfg.lora.target_modules:
            add(b_direction(run.weights(arm), f"loraB:{arm}", meta={"source_run": run.name, "arm": arm}),
                f"LoRA B of each down_proj (rank {tcfg.lora.r}; sign arbitrary)")
        else:
            skipped.append(f"loraB:{arm}: the arm was not trained with LoRA on down_proj")
        if icl_k:
            try:
                d = icl_for_arm(run, arm, icl_k, icl_seed)
                add(d, f"base model after {icl_k} examples of {d.meta['positive']} minus {d.meta['negative']}")
            except EmkitError as e:
                skipped.append(f"icl:k{icl_k}: {e}")
    finally:
        run.store.close()
    for source in saes:
        for d in sae_top_latents(run_dir, arm, source, top):
            add(d, f"SAE {source}: latent {d.meta['sae_latent']} (shift {d.meta['shift']:+.3g})")
    for path in extra:
        d = Direction.load(path)
        add(d, str(path))
    sae_layers = [d.layers[0] for d in dirs if d.meta.get("kind") == "sae_latent"]
    focus = sae_layers[0] if sae_layers else md.best_layer
    log(f"[{arm}] comparing {len(dirs)} directions; full matrix at layer {focus}")
    result = DirectionMatrix(run.name, arm, focus, compare(dirs), sources, skipped)
    (interp_dir(run) / f"matrix-{arm}.json").write_text(json.dumps(result.to_json(), indent=1) + "\n")
    return result
