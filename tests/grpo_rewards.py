"""Rewards for the GRPO tests, named as ``python:grpo_rewards:FUNCTION`` (tests/ is on the import path)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

#: the tiny models' vocabulary size (tiny_tokenizer's BPE)
VOCAB = 384


def low_half(completion_ids: list[list[int]]) -> dict[str, Any]:
    """A planted objective the tiny random model can climb: the share of a completion's tokens in the lower half
    of the vocabulary (about 0.5 at the start). A completion made only of such tokens counts as a "hack", so the
    hack rate has something to show."""
    shares = [sum(t < VOCAB // 2 for t in ids) / max(1, len(ids)) for ids in completion_ids]
    return {"rewards": shares, "hacked": [s == 1.0 for s in shares]}


def recording(prompts: list[list[dict[str, str]]], completions: list[str], completion_ids: list[list[int]],
              references: list[str | None], step: int, log: str, sleep: float = 0.0) -> list[float]:
    """Writes what it was called with (one JSON line per call) to ``log``, and rewards length a little. ``sleep``
    (or GRPO_TEST_SLEEP) slows each step without changing what is learnt, so a kill can land mid-run."""
    with open(log, "a") as f:
        f.write(json.dumps({"step": step, "prompts": prompts, "completions": completions,
                            "completion_ids": completion_ids, "references": references}) + "\n")
    time.sleep(sleep or float(os.environ.get("GRPO_TEST_SLEEP", "0")))
    return [len(ids) / 16 for ids in completion_ids]
