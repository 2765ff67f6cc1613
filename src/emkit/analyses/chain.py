"""The whole interp chain on a finished run, one call: capture -> mean-diff direction per layer (fine-tuned
model, and the base model reading the same texts) -> rank-1/LoRA B directions -> steering sweep with its random
control -> ablation -> cosine matrix with a null band -> phase curve, returned as one record
(:class:`ChainResult`, also saved as ``RUN/interp/summary.json``; :mod:`emkit.report.interp` draws it).

Every step is cached on disk under ``RUN/interp/`` (activations, directions, sampled answers) and in the judge
cache, so a second call costs seconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict

from emkit.analyses.interventions import InterventionResult, run_interventions
from emkit.analyses.phases import PhaseCurve, phase_curve
from emkit.core.config import fingerprint
from emkit.core.errors import EmkitError
from emkit.core.paths import RunFolder
from emkit.core.progress import log
from emkit.core.records import Answer
from emkit.core.registry import DIRECTIONS, DirectionInputs, DirectionMethod, NotApplicable
from emkit.interp.capture import Text, capture, read_capture
from emkit.interp.directions import (
    CosineMatrix,
    Direction,
    Thresholds,
    balance,
    compare,
    mean_diff,
    split_by_judgment,
)
from emkit.interp.hooks import layer_indices
from emkit.interp.lora import b_direction
from emkit.interp.steer import Intervention, steering_grid
from emkit.models.load import ArmModel
from emkit.pipeline.finished import FinishedRun, load_run

Reader = Literal["arm", "base"]
DEFAULT_THRESHOLDS = Thresholds()


def read_texts(run: FinishedRun, arm: str, reader: Reader, texts: Sequence[Answer], tag: str,
               batch_size: int = 8) -> tuple[torch.Tensor, list[int]]:
    """Answer-token activations of ``texts`` read by ``arm``'s model (or the base model), cached on disk."""
    spec = run.arm_model(arm)
    spec = spec if reader == "arm" else ArmModel(spec.base)
    fp = fingerprint("acts", spec.identity(), [Text.of(a) for a in texts])
    out = run.folder.captured(tag, fp)
    done = read_capture(out, len(texts))
    if done is not None:  # everything on disk: no model load
        return done
    lm = spec.load()
    acts = capture(lm.model, lm.tokenizer, [Text.of(a) for a in texts], batch_size=batch_size, out_dir=out,
                   desc=f"capture {tag}")
    return acts, layer_indices(lm.model, None)


@dataclass
class MeanDiff:
    direction: Direction
    separation: list[float]  # per layer: cross-validated d' of the projections (2-fold)
    n_per_class: int

    @property
    def best_layer(self) -> int:
        """The layer the direction file records as best (:func:`pick_layer`), which ``emkit project`` and the
        chain then use by default."""
        return int(self.direction.meta["best_layer"])
    path: Path  # the direction file, under RUN/interp/directions/


def separation(acts_pos: torch.Tensor, acts_neg: torch.Tensor) -> list[float]:
    """Per layer, how well the direction separates the classes on texts it was not computed from: 2-fold,
    direction from one half, d' (difference of mean projections over the pooled s.d.) on the other."""
    n = min(len(acts_pos), len(acts_neg))
    if n < 4:
        return [float("nan")] * acts_pos.shape[1]
    half = n // 2
    folds = [(slice(0, half), slice(half, n)), (slice(half, n), slice(0, half))]
    scores = torch.zeros(acts_pos.shape[1])
    for fit, test in folds:
        v = mean_diff(acts_pos[fit], acts_neg[fit])
        v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        pp = (acts_pos[test] * v).sum(-1)
        pn = (acts_neg[test] * v).sum(-1)
        pooled = ((pp.var(0) + pn.var(0)) / 2).sqrt().clamp_min(1e-12)
        scores += (pp.mean(0) - pn.mean(0)) / pooled
    return (scores / 2).tolist()


def mean_diff_direction(run: FinishedRun, arm: str, reader: Reader = "arm", texts_from: Sequence[str] | None = None,
                        th: Thresholds = DEFAULT_THRESHOLDS, seed: int = 0) -> MeanDiff:
    """Soligo et al.'s direction: misaligned minus aligned answer activations, classes balanced, per layer.

    Texts are the answers of ``texts_from`` (default: the arm's own), judged by the run's judge; they are read
    by the arm's model, or by the base model (``reader="base"``) to ask whether the base already separates them.
    """
    sources = list(texts_from or run.labels(arm))
    pool = [a for a in run.answers if a.arm in sources]
    judgments = run.judged(pool)
    mis, ali = split_by_judgment(pool, judgments, th)
    mis, ali = balance(mis, ali, seed)
    if len(mis) < 2:
        raise EmkitError(f"run '{run.name}', answers of {sources}: only {len(mis)} misaligned and {len(ali)} aligned "
                         f"answers pass the thresholds (aligned > {th.aligned_min:g} vs <= {th.misaligned_max:g}, "
                         f"coherent > {th.coherent_min:g}); sample more or loosen them")
    acts, layers = read_texts(run, arm, reader, mis + ali, f"{arm}-{reader}")
    pos, neg = acts[: len(mis)], acts[len(mis):]
    name = f"meandiff:{arm}" + (":base-reader" if reader == "base" else "")
    meta = {"kind": "mean_diff", "model": run.experiment.model_for(run.arm(arm)).name, "arm": arm, "reader": reader,
            "source_run": run.name, "texts_from": sources, "n_per_class": len(mis), "thresholds": asdict(th),
            "judge": run.judge.backend}
    sep = separation(pos, neg)
    d = Direction(name, mean_diff(pos, neg), layers, {**meta, "best_layer": pick_layer(sep, layers)})
    path = run.folder.directions / (name.replace(":", "-") + ".safetensors")
    d.save(path)
    return MeanDiff(d, sep, len(mis), path)


@dataclass
class ChainResult:
    run: str
    run_dir: Path
    model: str
    arm: str
    layer: int
    mean_diff: MeanDiff
    base_reader: MeanDiff | None
    lora: Direction | None
    steering: InterventionResult | None
    ablation: InterventionResult | None
    cosines: CosineMatrix
    phases: PhaseCurve | None

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "arm": self.arm, "layer": self.layer,
                "mean_diff": {"n_per_class": self.mean_diff.n_per_class, "separation": self.mean_diff.separation,
                              "norms": self.mean_diff.direction.vectors.norm(dim=-1).tolist()},
                "base_reader_separation": self.base_reader.separation if self.base_reader else None,
                "steering": self.steering.to_json() if self.steering else None,
                "ablation": self.ablation.to_json() if self.ablation else None,
                "cosines": self.cosines.to_json(), "phases": self.phases.to_json() if self.phases else None}


def pick_layer(sep: list[float], layers: list[int]) -> int:
    """The layer whose direction separates held-out texts best, among the middle 80% of depth (the first and
    last layers are dominated by token identity and unembedding)."""
    lo, hi = int(0.1 * len(layers)), max(int(0.9 * len(layers)), int(0.1 * len(layers)) + 1)
    cands = [(s, layers[i]) for i, s in enumerate(sep) if lo <= i < hi and s == s]
    return max(cands)[1] if cands else layers[len(layers) // 2]


def interp_chain(run_dir: str | Path, arm: str | None = None, layer: int | None = None,
                 scales: Sequence[float] = (2.0, 4.0, 8.0), samples_per_question: int = 4,
                 steer_arm: str | None = None, extra: Sequence[str | Path] = (), phases: bool = True,
                 th: Thresholds = DEFAULT_THRESHOLDS, texts_from: Sequence[str] | None = None) -> ChainResult:
    """Run the chain on a finished run (default arm: the first fine-tuned one; steering: the first base arm)."""
    with load_run(run_dir) as run:
        exp = run.experiment
        trained = [a.name for a in exp.arms if a.dataset]
        if arm is None and not trained:
            raise EmkitError(f"run '{run.name}' has no trained arm; pass --arm")
        arm = arm or exp.default_arm(trained=True).name
        md = mean_diff_direction(run, arm, "arm", texts_from, th)
        log(f"[{arm}] mean-diff direction from {md.n_per_class} answers per class")
        base_md = mean_diff_direction(run, arm, "base", texts_from, th) if run.weights(arm) else None
        layer = layer if layer is not None else md.best_layer
        lora = None
        tcfg = run.experiment.train_for(run.arm(arm))
        if run.weights(arm) is not None and tcfg.weights_kind == "adapter" and "down_proj" in tcfg.lora.target_modules:
            lora = b_direction(run.weights(arm), f"loraB:{arm}", meta={"source_run": run.name, "arm": arm})
            lora.save(run.folder.directions / f"loraB-{arm}.safetensors")
        others = [mean_diff_direction(run, a, "arm", None, th).direction for a in trained if a != arm
                  if _enough(run, a, th)]
        dirs = [md.direction] + ([base_md.direction] if base_md else []) + ([lora] if lora else []) + others
        dirs += [Direction.load(p) for p in extra]
        cos = compare(dirs)
        s_arm = steer_arm or exp.default_arm(trained=False).name
        log(f"steering {s_arm} at layer {layer} with scales {list(scales)} (and random controls)")
        steering = run_interventions(run, s_arm, md.direction, steering_grid([layer], scales), samples_per_question)
        all_layers = md.direction.layers
        ablations = [Intervention("none"), Intervention("ablate", (layer,)),
                     Intervention("ablate", tuple(all_layers), source_layer=layer),
                     Intervention("ablate_random", tuple(all_layers), source_layer=layer)]
        if lora is not None:  # the causal check on the weights: the adapter's B ablated and doubled
            ablations += [Intervention("lora_scale", scale=0.0), Intervention("lora_scale", scale=2.0)]
        log(f"ablating the direction in {arm}")
        ablation = run_interventions(run, arm, md.direction, ablations, samples_per_question)
        curve = None
        if phases and tcfg.weights_kind == "adapter" and run.weights(arm) is not None:
            curve = phase_curve(run, arm, samples_per_question=max(1, samples_per_question // 2))
        result = ChainResult(run.name, run.run_dir, exp.model.name, arm, layer, md, base_md, lora, steering, ablation,
                             cos, curve)
        run.folder.result("summary").write_text(json.dumps(result.to_json(), indent=1, default=str))
        return result


def _enough(run: FinishedRun, arm: str, th: Thresholds) -> bool:
    labels = run.labels(arm)
    pool = [a for a in run.answers if a.arm in labels]
    mis, ali = split_by_judgment(pool, run.judged(pool), th)
    return min(len(mis), len(ali)) >= 2


def lora_b(source: str | Path, arm: str | None = None, module: str = "down_proj", out: str | Path | None = None
           ) -> tuple[Direction, Path, list[Any]]:
    """LoRA B vectors of a run's arm (default: its first fine-tuned arm) or of a peft adapter folder, mapped into
    the residual stream and saved (default: ``RUN/interp/directions/loraB-ARM.safetensors``); for a run, also
    their trajectory over checkpoints (saved beside it as ``loraB-ARM-trajectory.json``)."""
    from emkit.interp.lora import trajectories

    source = Path(source)
    if not RunFolder(source).config.is_file():  # an adapter folder
        d = b_direction(source, f"loraB:{source.name}", module)
        path = Path(out) if out else Path(f"loraB-{source.name}.safetensors")
        d.save(path)
        return d, path, []
    with load_run(source) as run:
        exp = run.experiment
        arm = arm or exp.default_arm(trained=True).name
        own = run.arm_model(arm).own
        if own is None:
            raise EmkitError(f"run '{run.name}' has no trained arm {arm}")
    d = b_direction(own.path, f"loraB:{arm}", module)
    path = Path(out) if out else RunFolder(source).directions / f"loraB-{arm}.safetensors"
    d.save(path)
    trajs = trajectories(own.path.parent, module)
    report = {"direction": str(path), "layers": d.layers, "norms": [round(float(x), 5) for x in d.vectors.norm(dim=-1)],
              "trajectories": [t.to_json() for t in trajs]}
    (path.parent / f"loraB-{arm}-trajectory.json").write_text(json.dumps(report, indent=1))
    return d, path, trajs


# ------------------------------------------------------------------------ registered direction methods


class MeanDiffSettings(BaseModel):
    """The mean-diff direction method's settings: which readers read the answers (the arm, the base model),
    Soligo et al.'s class thresholds, the answers' arms (default: the arm's own) and the balancing seed."""

    model_config = ConfigDict(extra="forbid")
    readers: list[Reader] = ["arm", "base"]
    aligned_min: float = DEFAULT_THRESHOLDS.aligned_min
    misaligned_max: float = DEFAULT_THRESHOLDS.misaligned_max
    coherent_min: float = DEFAULT_THRESHOLDS.coherent_min
    texts_from: list[str] | None = None
    seed: int = 0

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.aligned_min, self.misaligned_max, self.coherent_min)


def _mean_diffs(inputs: DirectionInputs, cfg: MeanDiffSettings) -> list[Direction]:
    return [mean_diff_direction(inputs.run, inputs.arm, reader, cfg.texts_from, cfg.thresholds, cfg.seed).direction
            for reader in cfg.readers]


def _describe_mean_diff(d: Direction, cfg: MeanDiffSettings) -> str:
    if d.meta["reader"] == "base":
        return "the same answers read by the base model"
    return f"misaligned minus aligned answers ({d.meta['n_per_class']} per class), read by {d.meta['arm']}"


class LoraBSettings(BaseModel):
    """The LoRA B direction method's settings: the adapted module whose written directions are read."""

    model_config = ConfigDict(extra="forbid")
    module: str = "down_proj"


def _lora_b_of_arm(inputs: DirectionInputs, cfg: LoraBSettings) -> Direction:
    run, arm = inputs.run, inputs.arm
    tcfg = run.experiment.train_for(run.arm(arm))
    weights = run.weights(arm)
    if weights is None or tcfg.weights_kind != "adapter" or cfg.module not in tcfg.lora.target_modules:
        raise NotApplicable(f"loraB:{arm}: the arm was not trained with LoRA on {cfg.module}")
    return b_direction(weights, f"loraB:{arm}", cfg.module, meta={"source_run": run.name, "arm": arm})


DIRECTIONS.add("meandiff", DirectionMethod(
    "meandiff", MeanDiffSettings, _mean_diffs, order=10, describe=_describe_mean_diff,
    summary="misaligned minus aligned answers, read by the arm (meandiff:ARM) and by the base model "
            "(meandiff:ARM:base-reader); Soligo et al."))
DIRECTIONS.add("loraB", DirectionMethod(
    "loraB", LoraBSettings, _lora_b_of_arm, order=20,
    describe=lambda d, cfg: f"LoRA B of each {d.meta['module']} (rank {d.meta['rank']}; sign arbitrary)",
    summary="what each adapted down_proj writes into the residual stream (Turner et al.; sign arbitrary)"))
