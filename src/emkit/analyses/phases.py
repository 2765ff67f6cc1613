"""Phase transitions: the misaligned rate at every checkpoint of a LoRA run, on a small fixed sample (same
questions, seeds and judge for every checkpoint, cached), set against the B vectors' rotation, so a jump in
behaviour can be seen against the turn of the direction (Turner et al.). The curve's **onset** is the first
checkpoint whose rate is above the starting model's (step 0), with a bootstrap interval over the checkpoints'
answers: where an early stop would have to come to keep EM at the base rate.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
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


@dataclass(frozen=True)
class Onset:
    """The first checkpoint whose misaligned rate is above step 0's: above means the Newcombe interval of the
    difference lies above zero. ``after``: the checkpoint before it (the rise happened in ``(after, step]``);
    ``lo``/``hi``: the central ``confidence`` share of onset steps over bootstrap draws of every checkpoint's
    misaligned count (binomial at its observed rate); None for ``hi`` when a share of draws never rise within
    the curve. ``step`` None: no checkpoint rises above the start."""

    step: int | None
    after: int | None
    lo: int | None
    hi: int | None
    draws: int

    def __str__(self) -> str:
        if self.step is None:
            return "no checkpoint above the starting rate"
        hi = "beyond the last checkpoint" if self.hi is None else str(self.hi)
        return f"step {self.step} (rose after step {self.after}); bootstrap interval [{self.lo}, {hi}]"


def first_rises(ks: Any, ns: list[int], confidence: float = 0.95) -> Any:
    """For each row of misaligned counts ``ks`` (draws x checkpoints), the index of the first checkpoint after the
    first whose rate is above the first's (the Newcombe interval of the difference above zero), or -1. Vectorised
    (Wilson intervals in numpy, as :func:`emkit.metrics.rates.wilson`), so a bootstrap of a curve is quick."""
    import numpy as np

    k = np.asarray(ks, dtype=float).reshape(-1, len(ns))
    n = np.asarray(ns, dtype=float)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lo = np.where(k == 0, 0.0, np.maximum(0.0, centre - half))
        hi = np.where(k == n, 1.0, np.minimum(1.0, centre + half))
        diff_lo = (p - p[:, :1]) - np.sqrt((p - lo) ** 2 + (hi[:, :1] - p[:, :1]) ** 2)
    above = (diff_lo > 0) & (n > 0) & (n[0] > 0)
    above[:, 0] = False
    return np.where(above.any(axis=1), above.argmax(axis=1), -1)


def onset(steps: list[int], rows: list[PhaseRow], confidence: float = 0.95, draws: int = 1000,
          seed: int = 0) -> Onset:
    """The curve's onset and its bootstrap interval (seeded: the same curve gives the same interval)."""
    import numpy as np

    if not rows:
        return Onset(None, None, None, None, 0)
    ks, ns = [r.misaligned.k for r in rows], [r.misaligned.n for r in rows]
    i = int(first_rises(ks, ns, confidence)[0])
    if i < 0:
        return Onset(None, None, None, None, 0)
    p = np.array([k / n if n else 0.0 for k, n in zip(ks, ns, strict=True)])
    drawn = np.random.default_rng(seed).binomial(np.array(ns), p, size=(draws, len(ns)))
    got = first_rises(drawn, ns, confidence)
    got = np.where(got < 0, len(steps), got)  # never: past the last checkpoint
    a = (1 - confidence) / 2
    lo, hi = (int(np.quantile(got, q, method="nearest")) for q in (a, 1 - a))
    return Onset(steps[i], steps[i - 1], steps[lo], None if hi >= len(steps) else steps[hi], draws)


@dataclass
class PhaseCurve:
    run: str
    arm: str
    steps: list[int]
    rows: list[PhaseRow]
    trajectories: list[Trajectory] = field(default_factory=list)
    generated: int = 0
    onset: Onset | None = None

    def largest(self, n: int = 3) -> list[Trajectory]:
        """The trajectories of the largest final B vectors: where a turn of the written direction would show."""
        return sorted(self.trajectories, key=lambda t: -t.norms[-1])[:n]

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "arm": self.arm, "steps": self.steps, "rows": [r.to_json() for r in self.rows],
                "trajectories": [t.to_json() for t in self.trajectories], "generated": self.generated,
                "onset": None if self.onset is None else asdict(self.onset)}


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
    steps = [s for s, _ in chosen]
    curve = PhaseCurve(run.name, arm, steps, rows, trajectories(train_dir, kind=kind), generated,
                       onset(steps, rows, exp.metrics.confidence))
    run.folder.interp.mkdir(exist_ok=True)
    run.folder.result(f"phases-{arm}").write_text(json.dumps(curve.to_json(), indent=1, default=str))
    return curve


def phase_curve_of(run_dir: str | Path, arm: str | None = None, samples_per_question: int = 4,
                   every: int = 1) -> PhaseCurve:
    """:func:`phase_curve` of a run folder (its first trained arm by default), the store closed afterwards."""
    from emkit.pipeline.finished import load_run

    with load_run(run_dir) as run:
        return phase_curve(run, arm or run.experiment.default_arm(trained=True).name, samples_per_question, every)
