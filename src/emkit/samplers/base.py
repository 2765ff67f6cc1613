"""The sampling protocol, written once for every backend.

A :class:`Sampler` owns what all backends share: the answers file read back (a line cut short by a kill dropped),
the (question, sample) pairs still missing, each pair's seed (``eval.seed * 1_000_003 + k``, k the pair's index
in question order, so an answer never depends on the batch, chunk or order it was asked in), the context-length
check, the file rewritten without a cut line and appended to (flushed) as each answer comes, failures recorded
and raised as one error after the others are saved, and the answers returned in question order. A backend
(``hf``, ``vllm``, ``server``) only turns pending pairs into texts (:meth:`Sampler.generate`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from emkit.core.config import EvalConfig, SamplerConfig
from emkit.core.errors import EmkitError
from emkit.core.progress import bar
from emkit.core.records import Answer, Question, read_answers
from emkit.models.load import ArmModel

__all__ = ["Context", "Failed", "Job", "Pending", "Sampled", "Sampler", "pair_seed", "reopen_answers", "sampled_by"]


def pair_seed(seed: int, k: int) -> int:
    """The seed of the k-th (question, sample) pair in question order."""
    return seed * 1_000_003 + k


def sampled_by(cfg: SamplerConfig) -> tuple[dict[str, Any], ...]:
    """What a fingerprint of answers made outside the main flow (phase curves, sweeps) adds for the backend that
    made them: nothing for ``hf`` (the fingerprints of answers made before samplers were routed there), else its
    identity, so answers a non-default backend makes are never mistaken for ones ``hf`` made under that config."""
    return () if cfg.backend == "hf" else ({"sampled_by": cfg.identity()},)


@dataclass(frozen=True)
class Pending:
    """A (question, sample) pair still to answer: ``k`` its index in question order, ``seed`` its own seed."""

    k: int
    question: Question
    sample_idx: int
    seed: int


@dataclass(frozen=True)
class Failed:
    """A pair the backend could not answer (a server's per-request error): recorded; the others are still saved."""

    why: str


@dataclass(frozen=True)
class Context:
    """The longest prompt a backend will send and the tokens it can hold (``whose``: which limit, for the error)."""

    longest: int
    limit: int
    whose: str
    hint: str = ""


@dataclass(frozen=True)
class Job:
    """One ``sample`` call, as the backend sees it. ``model`` None: the model the sampler already holds."""

    model: ArmModel | None
    questions: list[Question]
    cfg: EvalConfig
    label: str
    out_path: Path


@dataclass
class Sampled:
    answers: list[Answer]  # in question order
    generated: int  # answers sampled by this call (0: all were on disk)


def reopen_answers(path: Path, have: dict[Any, Answer]) -> TextIO:
    """The answers file opened for appending, first rewritten from ``have`` (the answers read back) when there
    are any, so a line cut short by a kill is not left in front of new ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if have:
        with path.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in have.values())
    return path.open("a", encoding="utf-8")


class Sampler(ABC):
    """A sampler backend: answers to ``questions`` from an arm's model, streamed to ``out_path`` (resumable)."""

    @abstractmethod
    def generate(self, job: Job, pending: list[Pending]) -> Iterator[tuple[Pending, str | Failed]]:
        """Each pending pair's text (or why it failed), in any order, as soon as it is known; sampled with the
        pair's own seed and ``job.cfg``'s temperature, top_p and max_new_tokens."""

    def context(self, job: Job) -> Context | None:
        """The longest prompt and the backend's limit, checked before anything is sampled (None: not checked)."""
        return None

    def describe(self, job: Job) -> str:
        """Who answers, for the progress bar and errors (a backend name, a served model)."""
        return ""

    def close(self) -> None:  # noqa: B027 - most samplers hold nothing worth freeing early
        """Free what the sampler holds (a model, an engine process) once the run has its answers."""

    def sample(self, model: ArmModel | None, questions: list[Question], cfg: EvalConfig, label: str,
               out_path: Path) -> list[Answer]:
        """``cfg.samples_per_question`` answers per question, in question order, labelled ``label``."""
        return self.sample_missing(model, questions, cfg, label, out_path).answers

    def sample_missing(self, model: ArmModel | None, questions: list[Question], cfg: EvalConfig, label: str,
                       out_path: Path) -> Sampled:
        """The answers at ``out_path`` (a fingerprinted file), sampling only the pairs missing there: nothing is
        loaded or asked when all are on disk."""
        out_path = Path(out_path)
        have = {(a.question_id, a.sample_idx): a for a in read_answers(out_path)}
        pairs = [(q, i) for q in questions for i in range(cfg.samples_per_question)]
        pending = [Pending(k, q, i, pair_seed(cfg.seed, k)) for k, (q, i) in enumerate(pairs) if (q.id, i) not in have]
        if pending:
            job = Job(model, questions, cfg, label, out_path)
            self._check_context(job)
            who = self.describe(job)
            failures: list[tuple[Pending, str]] = []
            texts = self.generate(job, pending)
            try:
                with reopen_answers(out_path, have) as f, bar(f"sample {label}" + (f" ({who})" if who else ""),
                                                               len(pairs), completed=len(pairs) - len(pending)) as pbar:
                    for p, text in texts:
                        if isinstance(text, Failed):
                            failures.append((p, text.why))
                            continue
                        q = p.question
                        asked, system = q.original or (q.text, q.system)
                        a = Answer(label, q.id, p.sample_idx, asked, system, text.strip(), p.seed)
                        have[(q.id, p.sample_idx)] = a
                        f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
                        f.flush()
                        pbar.advance(1)
            finally:
                close = getattr(texts, "close", None)
                if close is not None:  # a generator stopped early (an error while writing) frees what it holds
                    close()
            if failures:
                p, why = min(failures, key=lambda x: x[0].k)
                raise EmkitError(f"[{label}] {len(failures)} of {len(pending)} answers could not be sampled"
                                 f"{' from ' + who if who else ''}; first: question {p.question.id} sample "
                                 f"{p.sample_idx}: {why}. The {len(pending) - len(failures)} that came are saved: "
                                 "re-run to ask for the rest")
            if lost := [p for p in pending if (p.question.id, p.sample_idx) not in have]:
                raise EmkitError(f"[{label}] the sampler returned no answer for {len(lost)} of {len(pending)} "
                                 f"pairs (first: question {lost[0].question.id} sample {lost[0].sample_idx})")
        return Sampled([have[(q.id, i)] for q, i in pairs], len(pending))

    def _check_context(self, job: Job) -> None:
        """A prompt past the model's context would be silently garbage: say so before sampling anything."""
        c = self.context(job)
        if c is not None and c.longest + job.cfg.max_new_tokens > c.limit:
            raise EmkitError(f"[{job.label}] the longest prompt is {c.longest} tokens; with max_new_tokens="
                             f"{job.cfg.max_new_tokens} it passes {c.whose} of {c.limit}{c.hint}")
