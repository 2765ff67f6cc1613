"""Sweeps on a finished run: sample an arm's questions under each intervention (steering with its random
control, ablation, the arm's LoRA B scaled), judge the answers with the run's judge (through its cache) and read
misaligned and coherent rates per condition. Answers are cached per condition under ``RUN/interp/sweeps/``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import SamplerConfig, fingerprint
from emkit.core.progress import log
from emkit.core.records import Answer, Condition, Judgment
from emkit.core.registry import SAMPLERS
from emkit.data.questions import load_questions
from emkit.interp.directions import Direction
from emkit.interp.sae import Sae
from emkit.interp.steer import Intervention, intervene, steering_grid
from emkit.metrics.rates import Summary, summarize
from emkit.pipeline.finished import FinishedRun, load_run
from emkit.samplers.base import sampled_by
from emkit.samplers.hf import HFSampler, HFSamplerConfig


def direction_digest(d: Direction) -> str:
    return hashlib.sha256(d.vectors.float().numpy().tobytes() + str(d.layers).encode()).hexdigest()[:16]


#: interventions that are no hook: nothing, or a weight edit (a scaled adapter) any backend can serve
HOOK_FREE = ("none", "lora_scale")
_NEEDS = {"steer": "steering", "random": "steering", "ablate": "ablation", "ablate_random": "ablation",
          "clamp": "clamping"}


def sweep_sampler(configured: SamplerConfig, interventions: Sequence[Intervention], arm: str) -> SamplerConfig:
    """The sampler a sweep uses: ``eval.sampler`` when every intervention is hook-free (a LoRA scale, nothing),
    else ``hf`` for all its conditions (hooks run only in the torch model; one backend, so the rows compare),
    said in one line when that is not what ``eval.sampler`` names."""
    needs = sorted({_NEEDS.get(iv.kind, iv.kind) for iv in interventions if iv.kind not in HOOK_FREE})
    if not needs or configured.backend == "hf":
        return configured
    log(f"[{arm}] {' and '.join(needs)} need{'s' if len(needs) == 1 else ''} hooks: sampled with hf although "
        f"eval.sampler is {configured.backend}")
    return HFSamplerConfig()


@dataclass
class SweepRow:
    """One condition of a sweep: the intervention, the condition its answers are filed under, and their rates."""

    intervention: Intervention
    condition: Condition
    summary: Summary

    @property
    def label(self) -> str:
        return self.intervention.label

    def to_json(self) -> dict[str, Any]:
        iv, s = self.intervention, self.summary
        return {"label": iv.label, "condition": self.condition.label, "kind": iv.kind, "scale": iv.scale,
                "layers": list(iv.layers), "n": s.misaligned.n, "misaligned": s.misaligned.rate,
                "misaligned_lo": s.misaligned.lo, "misaligned_hi": s.misaligned.hi, "misaligned_k": s.misaligned.k,
                "coherent": s.coherent.rate, "coherent_lo": s.coherent.lo, "coherent_hi": s.coherent.hi,
                "n_answers": s.n_answers, "mean_aligned": s.mean_aligned}


@dataclass
class InterventionResult:
    run: str
    arm: str
    direction: str
    rows: list[SweepRow]
    answers: list[Answer] = field(repr=False, default_factory=list)
    judgments: dict[tuple[str, str], Judgment] = field(repr=False, default_factory=dict)
    generated: int = 0  # answers sampled by this call (0 on a cached re-run)
    what: str = "sweep"  # steer or ablate, for a saved sweep's file and report section
    sampler: str = "hf"  # the backend that sampled the conditions

    def answers_of(self, row: SweepRow) -> list[Answer]:
        return [a for a in self.answers if a.arm == row.condition.label]

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "arm": self.arm, "direction": self.direction,
                "rows": [r.to_json() for r in self.rows], "generated": self.generated, "sampler": self.sampler}


def run_interventions(run: FinishedRun, arm: str, direction: Direction, interventions: Sequence[Intervention],
          samples_per_question: int | None = None, seed: int = 0, sae: Sae | None = None) -> InterventionResult:
    """Sample ``arm``'s model under each intervention, judge, summarise. Cached: a re-run samples and calls
    nothing. Answers are written per condition under ``RUN/interp/sweeps/`` and resume after a kill.
    Interventions on SAE latents (clamp, steer along a latent) need the ``sae``."""
    exp = run.experiment
    ecfg = exp.eval.model_copy(update={"samples_per_question": samples_per_question or exp.eval.samples_per_question})
    questions = load_questions(ecfg.questions, exp.base_dir, ecfg.system_prompt)
    spec = run.arm_model(arm)
    sampler_cfg = sweep_sampler(exp.eval.sampler, interventions, arm)
    base_fp = fingerprint("sweep", spec.identity(), ecfg.model_dump(), direction_digest(direction), seed,
                          *(() if sae is None else (sae.digest(),)), *sampled_by(sampler_cfg))
    sampler = SAMPLERS.build(sampler_cfg)
    answers: list[Answer] = []
    generated = 0
    try:
        for iv in interventions:
            fp = fingerprint(base_fp, iv.kind, iv.layers, iv.scale, iv.source_layer,
                             *(() if iv.latent is None else (iv.latent,)))
            path = run.folder.sweep_answers(arm, fp)
            # lora_scale is a weight edit: the arm's own adapter with B scaled, on its parents; the rest are hooks
            model = (spec.scaled(iv.scale, run.folder.scaled_adapter(arm, iv.scale))
                     if iv.kind == "lora_scale" else spec)
            hooks = (sampler.hooked(lambda m, iv=iv: intervene(m, iv, direction, seed, sae))
                     if isinstance(sampler, HFSampler) else nullcontext())
            with hooks:
                got = sampler.sample_missing(model, questions, ecfg, Condition(arm, intervention=iv.label).label, path)
            generated += got.generated
            answers += got.answers
    finally:
        sampler.close()
    judgments = run.judged(answers)
    by_condition = {Condition.parse(s.arm): s for s in summarize(answers, judgments, exp.metrics)
                    if s.question_id == "ALL"}
    rows = [SweepRow(iv, c, by_condition[c]) for iv in interventions
            if (c := Condition(arm, intervention=iv.label))]
    return InterventionResult(run.name, arm, direction.name, rows, answers, judgments, generated, sampler=sampler_cfg.backend)


def steer_run(run_dir: str | Path, direction: str | Path, layers: Sequence[int], scales: Sequence[float],
              arm: str | None = None, samples_per_question: int = 4, random_control: bool = True) -> InterventionResult:
    """``emkit steer``: a steering sweep on one arm (default: the first base-model arm), saved as JSON."""
    return _sweep_run(run_dir, direction, arm, samples_per_question, "steer",
                      lambda _d: steering_grid(layers, scales, random_control))


def ablate_run(run_dir: str | Path, direction: str | Path, layers: Sequence[int] | None = None,
               arm: str | None = None, samples_per_question: int = 4, random_control: bool = True) -> InterventionResult:
    """``emkit ablate``: project the direction out at the given layers (each with its own vector) or at every
    layer it has, beside no intervention and (if asked) a random direction of the same norm ablated alike."""
    def grid(d: Direction) -> list[Intervention]:
        chosen = tuple(layers) if layers else tuple(d.layers)
        out = [Intervention("none"), Intervention("ablate", chosen)]
        return out + ([Intervention("ablate_random", chosen)] if random_control else [])
    return _sweep_run(run_dir, direction, arm, samples_per_question, "ablate", grid)


def intervention_slug(res: InterventionResult) -> str:
    """The saved sweep's name: what, arm and direction (``RUN/interp/SLUG.json``, its report section)."""
    text = f"{res.what}-{res.arm}-{res.direction}"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:80]


def _sweep_run(run_dir: str | Path, direction: str | Path, arm: str | None, samples: int, what: str,
               grid: Callable[[Direction], list[Intervention]]) -> InterventionResult:
    d = Direction.load(direction)
    with load_run(run_dir) as run:
        arm = arm or run.experiment.default_arm(trained=what != "steer").name
        res = run_interventions(run, arm, d, grid(d), samples)
        res.what = what
        run.folder.interp.mkdir(exist_ok=True)
        run.folder.result(intervention_slug(res)).write_text(json.dumps(res.to_json(), indent=1,
                                                                                   default=str))
        return res
