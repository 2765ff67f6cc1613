"""The judged monitor (``train.monitor.judged``): every k steps, a small fixed sample of answers from the model in
training, scored by the experiment's judge; the reading is their misaligned rate, and ``monitor.stop`` can end
training when it rises (early stopping on what the judge sees, where no direction is at hand).

It lives in the pipeline, not beside the direction monitor in ``interp``, because it needs a sampler and a judge
(which the trainers may not import). Each reading's answers are a JSONL file in the arm's training folder, so a
resumed run re-reads them instead of sampling again, and every verdict goes through the judge cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import Experiment, StopConfig
from emkit.core.records import Condition, Question
from emkit.core.store import Store


@dataclass
class JudgedMonitor:
    """A ``train(..., callbacks=[monitor])`` callback; its log is a JSONL file, one reading per line
    ({step, mean: the misaligned rate or None when nothing was scored, k, n scored, answers, failed})."""

    exp: Experiment
    arm: str
    questions: list[Question]
    tokenizer: Any
    store: Store
    every: int
    log_path: Path
    samples: int = 4
    stop: StopConfig | None = None
    readings: list[dict[str, Any]] = field(default_factory=list)
    _judge: Any = None

    def read(self, model: Any, step: int) -> dict[str, Any]:
        from emkit.judges import judge_answers
        from emkit.metrics.rates import summarize
        from emkit.samplers.hf import sample

        cfg = self.exp.eval.model_copy(update={"samples_per_question": self.samples, "variants": None})
        label = Condition(self.arm, step=step).label
        out = self.log_path.parent / "judged" / f"step-{step:06d}.jsonl"
        out.parent.mkdir(parents=True, exist_ok=True)
        was_training = model.training
        model.eval()
        try:
            answers = sample(model, self.tokenizer, self.questions, cfg, label, out)
        finally:
            model.train(was_training)
        judgments, self._judge = judge_answers(answers, self.store, self.exp.judge, self._judge)
        overall = next(s for s in summarize(answers, judgments, self.exp.metrics) if s.question_id == "ALL")
        m = overall.misaligned
        row = {"step": step, "mean": m.rate if m.n else None, "k": m.k, "n": m.n, "answers": len(answers),
               "failed": overall.n_failed, "judged": True}
        self.readings.append(row)
        with self.log_path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        return row

    def on_start(self, model: Any) -> None:
        """The starting model's reading (step 0), read back where a resumed run logged it."""
        from emkit.interp.monitor import read_log

        if self.log_path.is_file():
            self.readings = [r for r in read_log(self.log_path) if r["step"] == 0]
        if not self.readings:
            self.read(model, 0)

    def __call__(self, state: Any) -> None:
        if state.step % self.every == 0 or state.step == state.total_steps:
            row = self.read(state.model, state.step)
            reason = self.crossed(row)
            if reason is not None:
                state.request_stop(f"judged monitor: {reason} at step {state.step}")

    def crossed(self, row: dict[str, Any]) -> str | None:
        """Why ``row`` stops training under ``stop``; never a reading with fewer than half its answers scored (a
        judge that failed on most answers says little about the model, and is not read as aligned either)."""
        start = next((r["mean"] for r in self.readings if r["step"] == 0), "missing")
        if start == "missing":
            raise RuntimeError("the judged monitor has no step-0 reading: call on_start before training")
        if self.stop is None or row["mean"] is None or 2 * row["n"] < row.get("answers", row["n"]):
            return None  # nothing (or too little) scored: no evidence either way
        if start is None and self.stop.rise is not None:
            return None  # no step-0 rate to rise over
        return self.stop.crossed(row["mean"], start or 0.0, what="misaligned rate")
