"""An early-warning monitor for fine-tuning: every k steps, project a fixed probe set's activations onto a
direction and log the mean projection, so EM can be seen rising during training before anything is sampled.

The probe set is a list of prompts (by default the run's evaluation questions) read at the last prompt token,
the position that writes the first answer token; or full (prompt, answer) texts, averaged over the answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from emkit.core.config import StopConfig
from emkit.core.records import Question
from emkit.interp.capture import Text, capture
from emkit.interp.directions import Direction
from emkit.trainers.local import TrainState


def read_log(path: Path) -> list[dict[str, Any]]:
    """A monitor's log, one reading per step (a resumed run may have logged a step twice: the last one wins)."""
    by_step = {}
    for line in path.read_text().split("\n"):
        if line.strip():
            row = json.loads(line)
            by_step[row["step"]] = row
    return [by_step[k] for k in sorted(by_step)]


def probe_texts(questions: Sequence[Question]) -> list[Text]:
    """Prompts without answers: read at the last prompt token."""
    return [Text(tuple((m["role"], m["content"]) for m in q.messages()), "") for q in questions]


def projections(acts: torch.Tensor, direction: Direction, layers: Sequence[int]) -> list[float]:
    """Mean over texts of each layer's activation projected on the unit direction at that layer."""
    out = []
    for li, layer in enumerate(layers):
        v = direction.at(layer).float()
        out.append(float((acts[:, li] @ (v / v.norm())).mean()))
    return out


@dataclass
class DirectionMonitor:
    """A ``train(..., callbacks=[monitor])`` callback; its log is a JSONL file, one line per reading."""

    tokenizer: PreTrainedTokenizerBase
    texts: list[Text]
    direction: Direction
    layers: list[int]
    every: int = 10
    log_path: Path | None = None
    readings: list[dict[str, Any]] = field(default_factory=list)
    #: train.monitor.stop: ask the trainer to stop when a reading crosses it (None: only watch)
    stop: StopConfig | None = None

    def read(self, model: torch.nn.Module, step: int) -> dict[str, Any]:
        acts = capture(model, self.tokenizer, self.texts, self.layers, desc=f"monitor step {step}")
        proj = projections(acts, self.direction, self.layers)
        row = {"step": step, "projection": dict(zip(map(str, self.layers), proj, strict=True)),
               "mean": sum(proj) / len(proj)}
        self.readings.append(row)
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
        return row

    def on_start(self, model: torch.nn.Module) -> None:
        """The starting model's reading (step 0), unless a resumed run logged it already: then that reading is
        read back (the stop's ``rise`` counts from step 0's)."""
        if self.log_path is not None and self.log_path.is_file():
            self.readings = [r for r in read_log(self.log_path) if r["step"] == 0]
        if not any(r["step"] == 0 for r in self.readings):
            self.read(model, 0)

    def __call__(self, state: TrainState) -> None:
        if state.step % self.every == 0 or state.step == state.total_steps:
            row = self.read(state.model, state.step)
            reason = self.crossed(row)
            if reason is not None:
                state.request_stop(f"monitor: {reason} at step {state.step}")

    def crossed(self, row: dict[str, Any]) -> str | None:
        """Why ``row`` (a reading) stops training under ``stop``, or None (no stop set, or not crossed)."""
        if self.stop is None:
            return None
        start = next((r["mean"] for r in self.readings if r["step"] == 0), None)
        if start is None:
            raise RuntimeError("the monitor has no step-0 reading: call on_start before training")
        return self.stop.crossed(row["mean"], start)
