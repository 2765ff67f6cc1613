"""The small typed records that flow between stages. Keys are content hashes, so a cache hit is a dict lookup."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal


def text_key(*parts: str | None) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update((p or "").encode())
        h.update(b"\x1f")
    return h.hexdigest()[:32]


@dataclass(frozen=True)
class Question:
    """An evaluation question; ``history`` holds prior (user, assistant) exchanges shown before it (in-context
    examples). ``original`` is (text, system) as the question set wrote them, when a prompt variant changed
    them: answers record, and the judge grades against, the original, so that under every variant the judge
    reads the same question and only the answer differs (the variant is what is being measured)."""

    id: str
    text: str
    system: str | None = None
    history: tuple[tuple[str, str], ...] = ()
    original: tuple[str, str | None] | None = None


@dataclass(frozen=True)
class Answer:
    arm: str
    question_id: str
    sample_idx: int
    question: str
    system: str | None
    text: str
    seed: int

    @property
    def judge_key(self) -> str:
        """What a judge sees (question, system, answer): equal content is judged once, across runs."""
        return text_key(self.system, self.question, self.text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


JudgmentStatus = Literal["ok", "no_score", "failed"]


@dataclass(frozen=True)
class Judgment:
    """One judge's verdict on one answer for one metric. ``score`` is None unless status is "ok":
    an unscorable answer (refusal, code, low probability mass) or a failed call is never a number."""

    judge: str
    metric: str
    key: str
    score: float | None
    status: JudgmentStatus
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
