"""Judges: one interface, backends as plug-ins, one SQLite cache.

A judge maps (question, answer) items to 0-100 scores per metric. Each backend is a module with its own config
class, registered by name in :data:`emkit.core.registry.JUDGES` (``offline``: :mod:`emkit.judges.offline`;
``api``: :mod:`emkit.judges.api`; ``toy``: the toy world's exact judge, :mod:`emkit.worlds.toy.judge`), so the
experiment file's ``judge: {backend: NAME, ...}`` picks one and a new judge is a new module.

:func:`judge_answers` scores through the cache: only misses reach the judge. Failures are recorded as
``failed``: never a score, never aligned.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from emkit.core.config import JudgeConfig
from emkit.core.errors import EmkitError
from emkit.core.progress import bar
from emkit.core.records import METRICS, Answer, Judgment
from emkit.core.registry import JUDGES
from emkit.core.store import Store


@dataclass(frozen=True)
class JudgeItem:
    key: str
    question: str
    system: str | None
    answer: str

    @classmethod
    def of(cls, a: Answer) -> JudgeItem:
        return cls(a.judge_key, a.question, a.system, a.text)


class Judge(ABC):
    """A judge maps (question, answer) items to 0-100 scores per metric. ``calls`` counts real work done;
    ``id`` is its cache identity (the config's ``judge_id``); ``info`` says what it is, for reports."""

    id: str = "judge"
    info: dict[str, Any]

    def __init__(self, cfg: JudgeConfig) -> None:
        self.cfg = cfg
        self.id = cfg.judge_id()
        self.calls = 0
        self.info = {"backend": cfg.backend}

    @abstractmethod
    def judge(self, items: list[JudgeItem], metric: str, on_result: Any = None) -> list[Judgment]:
        """Score ``items`` on ``metric``; call ``on_result`` with each judgment as it is ready."""

    def judge_all(self, todo: dict[str, list[JudgeItem]], on_result: Any = None) -> list[Judgment]:
        """Score each metric's items (``todo``: metric -> items), calling ``on_result`` once per judgment as it is
        ready. A judge that reads every metric from one prediction (the encoder judges) overrides this."""
        return [j for metric, its in todo.items() for j in self.judge(its, metric, on_result)]


def get_judge(cfg: JudgeConfig) -> Judge:
    """Build the judge a config names (its backend's registered factory)."""
    return JUDGES.build(cfg)


def judge_id(cfg: JudgeConfig) -> str:
    """The cache identity of the judge a config names, without building it (no model load, no key)."""
    return cfg.judge_id()


def parse_judge(spec: str, base_url: str | None = None, api_key_env: str = "OPENAI_API_KEY",
                max_calls: int | None = None, concurrency: int = 8, **api: Any) -> JudgeConfig:
    """A judge named on the command line: a backend's name (``offline``, ``toy``), ``api:MODEL`` /
    ``api:MODEL@BASE_URL`` (keys stay in the environment), or ``local:NAME`` (a distilled judge)."""
    if spec.startswith("local:") and len(spec) > 6:
        raw: dict[str, Any] = {"backend": "local", "name": spec[6:]}
    elif spec.startswith("api:") and len(spec) > 4:
        model, _, url = spec[4:].partition("@")
        raw = {"backend": "api", "model": model, "base_url": url or base_url,
                               "api_key_env": api_key_env, "max_calls": max_calls, "concurrency": concurrency, **api}
    elif spec in JUDGES and spec not in ("api", "local"):
        raw = {"backend": spec}
    else:
        raise EmkitError(f"unknown judge '{spec}' (use {', '.join(n for n in sorted(JUDGES) if n not in ('api', 'local'))}"
                         ", api:MODEL, api:MODEL@BASE_URL or local:NAME)")
    try:
        return JUDGES.config(raw, "offline")  # type: ignore[return-value]
    except ValueError as e:
        raise EmkitError(f"judge '{spec}': {e}") from None


# ------------------------------------------------------------------------------------------- cached scoring


def judge_answers(answers: list[Answer], store: Store, cfg: JudgeConfig, judge: Judge | None = None,
                  metrics: tuple[str, ...] = METRICS) -> tuple[dict[tuple[str, str], Judgment], Judge | None]:
    """Score every answer on every metric through the SQLite cache; only misses reach the judge (built lazily,
    so a fully cached run loads no judge model and makes no call). Failed judgments are retried next time."""
    jid = judge.id if judge else judge_id(cfg)
    items = {a.judge_key: JudgeItem.of(a) for a in answers}
    results: dict[tuple[str, str], Judgment] = {}
    todo: dict[str, list[JudgeItem]] = {}
    for metric in metrics:
        cached = store.judgments(jid, metric, items)
        for key, item in items.items():
            j = cached.get(key)
            if j is not None and j.status != "failed":
                results[(key, metric)] = j
            else:
                todo.setdefault(metric, []).append(item)
    total = sum(len(v) for v in todo.values())
    if total == 0:
        return results, judge
    judge = judge or get_judge(cfg)
    with bar(f"judge {judge.id.split(':')[0]}", total) as pbar:
        def on_result(j: Judgment) -> None:
            if j.extra.get("cache", True):
                store.put_judgment(j)  # each verdict is saved as it arrives: a kill loses nothing paid for
            pbar.advance()

        for j in judge.judge_all(todo, on_result=on_result):
            results[(j.key, j.metric)] = j
    return results, judge
