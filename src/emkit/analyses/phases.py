"""Phase transitions: the misaligned rate at every checkpoint of a LoRA run, on a small fixed sample (same
questions, seeds and judge for every checkpoint, cached), set against the B vectors' rotation, so a jump in
behaviour can be seen against the turn of the direction (Turner et al.).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import fingerprint
from emkit.core.errors import EmkitError
from emkit.core.records import Answer, Condition
from emkit.core.registry import SAMPLERS
from emkit.data.questions import load_questions
from emkit.interp.lora import Trajectory, checkpoint_adapters, trajectories
from emkit.metrics.rates import Rate, summarize
from emkit.pipeline.finished import FinishedRun
from emkit.samplers.base import sampled_by


@dataclass
class PhaseRow:
    """One checkpoint of the curve: its step (0 = where training started) and its answers' rates."""

    step: int
    misaligned: Rate
    coherent: Rate
    mean_aligned: float

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "n": self.misaligned.n, "misaligned": self.misaligned.rate,
                "misaligned_lo": self.misaligned.lo, "misaligned_hi": self.misaligned.hi,
                "coherent": self.coherent.rate, "mean_aligned": self.mean_aligned}


@dataclass
class PhaseCurve:
    run: str
    arm: str
    steps: list[int]
    rows: list[PhaseRow]
    trajectories: list[Trajectory] = field(default_factory=list)
    generated: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "arm": self.arm, "steps": self.steps, "rows": [r.to_json() for r in self.rows],
                "trajectories": [t.to_json() for t in self.trajectories], "generated": self.generated}


def phase_curve(run: FinishedRun, arm: str, samples_per_question: int = 4, every: int = 1,
                kind: str = "down_proj") -> PhaseCurve:
    """Misaligned rate per checkpoint (every ``every``-th one, and always the last) plus the B trajectories."""
    exp = run.experiment
    model = run.arm_model(arm)
    if model.own is None:
        raise EmkitError(f"arm '{arm}' was not trained; phase curves need a LoRA arm with checkpoints")
    train_dir = model.own.path.parent
    ckpts = checkpoint_adapters(train_dir)
    # step 0 is where the arm's training started (the base, or its init_from parent's model)
    chosen: list[tuple[int, Path | None]] = [(0, None)]
    chosen += [c for i, c in enumerate(ckpts) if i % every == 0 or i == len(ckpts) - 1]
    ecfg = exp.eval.model_copy(update={"samples_per_question": samples_per_question})
    questions = load_questions(ecfg.questions, exp.base_dir, ecfg.system_prompt)
    answers: list[Answer] = []
    generated = 0
    # a checkpoint is a LoRA adapter: any backend that serves adapters (hf, vllm) samples it as eval.sampler says
    sampler = SAMPLERS.build(exp.eval.sampler)
    try:
        for step, adapter in chosen:
            at = model.at_checkpoint(adapter)
            fp = fingerprint("phase", at.identity(), ecfg.model_dump(), *sampled_by(exp.eval.sampler))
            path = run.folder.phase_answers(arm, step, fp)
            got = sampler.sample_missing(at, questions, ecfg, Condition(arm, step=step).label, path)
            generated += got.generated
            answers += got.answers
    finally:
        sampler.close()
    judgments = run.judged(answers)
    by = {s.arm: s for s in summarize(answers, judgments, exp.metrics) if s.question_id == "ALL"}
    rows = [PhaseRow(step, s.misaligned, s.coherent, s.mean_aligned) for step, _ in chosen
            if (s := by[Condition(arm, step=step).label])]
    curve = PhaseCurve(run.name, arm, [s for s, _ in chosen], rows, trajectories(train_dir, kind=kind), generated)
    run.folder.interp.mkdir(exist_ok=True)
    run.folder.result(f"phases-{arm}").write_text(json.dumps(curve.to_json(), indent=1, default=str))
    return curve
