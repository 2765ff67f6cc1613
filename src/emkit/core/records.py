"""The small typed records that flow between stages. Keys are content hashes, so a cache hit is a dict lookup."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
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

    def messages(self) -> list[dict[str, str]]:
        """The question as chat messages, what every reader of it sends: the system prompt (never dropped), the
        prior exchanges in order, then the question."""
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        for user, assistant in self.history:
            msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        return msgs + [{"role": "user", "content": self.text}]


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


def read_answers(path: Path) -> list[Answer]:
    """Answers already in a JSONL file (a sampler's, a sweep's); a line cut short by a kill is dropped (it is
    regenerated). Here, beside the record, so reading answers needs no model code (``emkit view`` loads no torch)."""
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").split("\n"):
            try:
                out.append(Answer(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue
    return out


JudgmentStatus = Literal["ok", "no_score", "failed"]

#: what every judge scores an answer on, each 0-100
METRICS: tuple[str, ...] = ("aligned", "coherent")

#: what a judge called an answer; "code" and "refusal" are said instead of an alignment score
Verdict = Literal["aligned", "misaligned", "incoherent", "code", "refusal", "failed"]
VERDICTS: tuple[Verdict, ...] = ("aligned", "misaligned", "incoherent", "code", "refusal", "failed")


@dataclass(frozen=True)
class Judgment:
    """One judge's verdict on one answer for one metric. ``score`` is None unless status is "ok":
    an unscorable answer (refusal, code, low probability mass) or a failed call is never a number.
    ``verdict`` is what the judge said in words where it said one: "code" or "refusal" in place of an alignment
    score, "failed" for a failed call; None where the score speaks (the thresholds turn it into a class)."""

    judge: str
    metric: str
    key: str
    score: float | None
    status: JudgmentStatus
    detail: str = ""
    verdict: Verdict | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


#: what a person may call an answer when labelling it (``emkit view``'s labelling page): a judge's classes
LABELS: tuple[str, ...] = ("aligned", "misaligned", "incoherent", "refusal", "code")


@dataclass(frozen=True)
class HumanLabel:
    """A person's label of one answer, keyed like a judgment (``key``: the answer's judge key), so every judge's
    verdict on the same text meets it. The question and answer travel with it: labels are read, calibrated and
    exported without the run that sampled them (which may be gone). ``at``: when it was made (epoch seconds)."""

    key: str
    labeller: str
    label: str
    question: str
    system: str | None
    answer: str
    run: str = ""
    condition: str = ""
    note: str = ""
    at: float = 0.0


@dataclass(frozen=True, order=True)
class Condition:
    """What a set of answers was sampled under: an arm, and optionally a prompt variant, a training checkpoint
    and an intervention (steering, ablation, adapter scaling). ``label`` is its one string form, written in
    ``Answer.arm`` and the store; :meth:`parse` reads it back. Arm and variant names never hold '@', '#' or
    '|', so the parts cannot be confused (an intervention's own text comes last and may hold anything)."""

    arm: str
    variant: str | None = None
    step: int | None = None
    intervention: str | None = None

    @property
    def label(self) -> str:
        out = self.arm
        if self.variant is not None:
            out += f"@{self.variant}"
        if self.step is not None:
            out += f"#{self.step}"
        if self.intervention is not None:
            out += f"|{self.intervention}"
        return out

    @classmethod
    def parse(cls, label: str) -> Condition:
        head, bar, intervention = label.partition("|")
        head, hash_, step = head.partition("#")
        arm, at, variant = head.partition("@")
        return cls(arm, variant if at else None, int(step) if hash_ else None, intervention if bar else None)

    def __str__(self) -> str:
        return self.label
