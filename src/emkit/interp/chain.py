"""The whole interp chain on a finished run, one call: capture -> mean-diff direction per layer (fine-tuned
model, and the base model reading the same texts) -> rank-1/LoRA B directions -> steering sweep with its random
control -> ablation -> cosine matrix with a null band -> phase curve -> a report section with plots.

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

from emkit.config import fingerprint
from emkit.errors import EmkitError
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
from emkit.interp.phases import PhaseCurve, phase_curve
from emkit.interp.steer import Intervention, SweepResult, steering_grid, sweep
from emkit.models import ArmModel
from emkit.progress import log
from emkit.records import Answer
from emkit.run import FinishedRun, load_run

Reader = Literal["arm", "base"]
DEFAULT_THRESHOLDS = Thresholds()


def interp_dir(run: FinishedRun) -> Path:
    return run.run_dir / "interp"


def read_texts(run: FinishedRun, arm: str, reader: Reader, texts: Sequence[Answer], tag: str,
               batch_size: int = 8) -> tuple[torch.Tensor, list[int]]:
    """Answer-token activations of ``texts`` read by ``arm``'s model (or the base model), cached on disk."""
    spec = run.arm_model(arm)
    spec = spec if reader == "arm" else ArmModel(spec.base)
    fp = fingerprint("acts", spec.identity(), [Text.of(a) for a in texts])
    out = interp_dir(run) / "acts" / f"{tag}-{fp}"
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
    judgments = run.judgments(pool)
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
    d.save(interp_dir(run) / "directions" / (name.replace(":", "-") + ".safetensors"))
    return MeanDiff(d, sep, len(mis))


@dataclass
class ChainResult:
    run: str
    arm: str
    layer: int
    mean_diff: MeanDiff
    base_reader: MeanDiff | None
    lora: Direction | None
    steering: SweepResult | None
    ablation: SweepResult | None
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
    """Run the chain on a finished run and add its section to the run's report."""
    from emkit.interp.section import interp_section
    from emkit.report import add_section

    run = load_run(run_dir)
    try:
        trained = [a.name for a in run.experiment.arms if a.dataset]
        base_arms = [a.name for a in run.experiment.arms if not a.dataset]
        arm = arm or (trained[0] if trained else None)
        if arm is None:
            raise EmkitError(f"run '{run.name}' has no trained arm; pass --arm")
        md = mean_diff_direction(run, arm, "arm", texts_from, th)
        log(f"[{arm}] mean-diff direction from {md.n_per_class} answers per class")
        base_md = mean_diff_direction(run, arm, "base", texts_from, th) if run.weights(arm) else None
        layer = layer if layer is not None else pick_layer(md.separation, md.direction.layers)
        lora = None
        tcfg = run.experiment.train_for(run.arm(arm))
        if run.weights(arm) is not None and tcfg.method == "lora" and "down_proj" in tcfg.lora.target_modules:
            lora = b_direction(run.weights(arm), f"loraB:{arm}", meta={"source_run": run.name, "arm": arm})
            lora.save(interp_dir(run) / "directions" / f"loraB-{arm}.safetensors")
        others = [mean_diff_direction(run, a, "arm", None, th).direction for a in trained if a != arm
                  if _enough(run, a, th)]
        dirs = [md.direction] + ([base_md.direction] if base_md else []) + ([lora] if lora else []) + others
        dirs += [Direction.load(p) for p in extra]
        cos = compare(dirs)
        s_arm = steer_arm or (base_arms[0] if base_arms else arm)
        log(f"steering {s_arm} at layer {layer} with scales {list(scales)} (and random controls)")
        steering = sweep(run, s_arm, md.direction, steering_grid([layer], scales), samples_per_question)
        all_layers = md.direction.layers
        ablations = [Intervention("none"), Intervention("ablate", (layer,)),
                     Intervention("ablate", tuple(all_layers), source_layer=layer),
                     Intervention("ablate_random", tuple(all_layers), source_layer=layer)]
        if lora is not None:  # the causal check on the weights: the adapter's B ablated and doubled
            ablations += [Intervention("lora_scale", scale=0.0), Intervention("lora_scale", scale=2.0)]
        log(f"ablating the direction in {arm}")
        ablation = sweep(run, arm, md.direction, ablations, samples_per_question)
        curve = None
        if phases and tcfg.method == "lora" and run.weights(arm) is not None:
            curve = phase_curve(run, arm, samples_per_question=max(1, samples_per_question // 2))
        result = ChainResult(run.name, arm, layer, md, base_md, lora, steering, ablation, cos, curve)
        (interp_dir(run) / "summary.json").write_text(json.dumps(result.to_json(), indent=1, default=str))
        add_section(run.run_dir, "50-interp", interp_section(result, run.experiment.model.name))
        return result
    finally:
        run.store.close()


def _enough(run: FinishedRun, arm: str, th: Thresholds) -> bool:
    labels = run.labels(arm)
    pool = [a for a in run.answers if a.arm in labels]
    mis, ali = split_by_judgment(pool, run.judgments(pool), th)
    return min(len(mis), len(ali)) >= 2


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:80]


def steer_run(run_dir: str | Path, direction: str | Path, layers: Sequence[int], scales: Sequence[float],
              arm: str | None = None, samples_per_question: int = 4, random_control: bool = True) -> SweepResult:
    """``emkit steer``: a steering sweep on one arm (default: the first untrained arm), saved and reported."""
    return _sweep_run(run_dir, direction, arm, samples_per_question, "steer",
                      lambda _d: steering_grid(layers, scales, random_control))


def ablate_run(run_dir: str | Path, direction: str | Path, layers: Sequence[int] | None = None,
               arm: str | None = None, samples_per_question: int = 4, random_control: bool = True) -> SweepResult:
    """``emkit ablate``: project the direction out at the given layers (each with its own vector) or at every
    layer it has, beside no intervention and (if asked) a random direction of the same norm ablated alike."""
    def grid(d: Direction) -> list[Intervention]:
        chosen = tuple(layers) if layers else tuple(d.layers)
        out = [Intervention("none"), Intervention("ablate", chosen)]
        return out + ([Intervention("ablate_random", chosen)] if random_control else [])
    return _sweep_run(run_dir, direction, arm, samples_per_question, "ablate", grid)


def _sweep_run(run_dir: str | Path, direction: str | Path, arm: str | None, samples: int, what: str,
               grid: Any) -> SweepResult:
    from emkit.interp.section import bars, steering_plot, sweep_table
    from emkit.report import add_section

    d = Direction.load(direction)
    run = load_run(run_dir)
    try:
        arms = run.experiment.arms
        default = next((a.name for a in arms if (a.dataset is None) == (what == "steer")), arms[0].name)
        arm = arm or default
        res = sweep(run, arm, d, grid(d), samples)
        slug = _slug(f"{what}-{arm}-{d.name}")
        (interp_dir(run) / f"{slug}.json").write_text(json.dumps(res.to_json(), indent=1, default=str))
        plot = steering_plot(res) if what == "steer" else bars(res)
        add_section(run.run_dir, f"60-{slug}", f"<h2>{what.capitalize()}: {d.name} in {arm}</h2>" + plot
                    + sweep_table(res))
        return res
    finally:
        run.store.close()
