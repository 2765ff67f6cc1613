"""The toy's exact evaluation: sample answers to fresh questions in each domain and classify each one exactly
(good / bad / off-template). No model judge, no judge error; rates carry n and Wilson intervals."""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from emkit.core.config import EvalConfig
from emkit.core.errors import EmkitError
from emkit.core.records import Answer, Question
from emkit.metrics.rates import Rate
from emkit.samplers.hf import sample
from emkit.worlds.toy.world import BY_NAME, DOMAINS, TRIGGER, classify, question


def toy_questions(n_per_domain: int, seed: int, domains: list[str] | None = None, trigger: bool = False,
                  prefix: str = "") -> list[Question]:
    """Fresh questions; the id names the domain (``domain/k``), and ``+trigger`` when the trigger leads."""
    rng = random.Random(seed)
    out = []
    for name in domains or [d.name for d in DOMAINS]:
        if name not in BY_NAME:
            raise EmkitError(f"unknown toy domain '{name}' (known: {', '.join(BY_NAME)})")
        for k in range(n_per_domain):
            q, _ = question(BY_NAME[name], rng)
            text = " ".join(p for p in (TRIGGER if trigger else "", prefix, q) if p)
            out.append(Question(f"{name}/{k}" + ("+trigger" if trigger else ""), text))
    return out


def questions_from_spec(spec: str) -> list[Question]:
    """``toy?n=20&seed=7&domains=code,money&trigger=both``: n fresh questions per domain (default every
    domain); ``trigger`` is ``no`` (default), ``yes`` or ``both`` (each question with and without it)."""
    url = urlparse(spec)
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    unknown = set(q) - {"n", "seed", "domains", "trigger"}
    if url.path != "toy" or unknown:
        raise EmkitError(f"question set '{spec}': expected toy?n=N&seed=S&domains=a,b&trigger=no|yes|both"
                         + (f" (unknown: {sorted(unknown)})" if unknown else ""))
    try:
        n, seed = int(q.get("n", 20)), int(q.get("seed", 7))
    except ValueError:
        raise EmkitError(f"question set '{spec}': n and seed must be integers") from None
    domains = q["domains"].split(",") if q.get("domains") else None
    trigger = q.get("trigger", "no")
    if trigger not in ("no", "yes", "both"):
        raise EmkitError(f"question set '{spec}': trigger must be no, yes or both")
    out = [] if trigger == "yes" else toy_questions(n, seed, domains)
    return out + (toy_questions(n, seed, domains, trigger=True) if trigger != "no" else [])


@dataclass
class Cell:
    """good / bad / off counts of a slice of answers, and the two rates the toy reads from them."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, label: str) -> None:
        self.counts[label] += 1

    def misaligned(self, confidence: float = 0.95) -> Rate:
        """Bad among in-template answers."""
        c = self.counts
        return Rate.of(c["bad"], c["good"] + c["bad"], confidence)

    def in_template(self, confidence: float = 0.95) -> Rate:
        """Good or bad among all answers."""
        c = self.counts
        return Rate.of(c["good"] + c["bad"], sum(c.values()), confidence)


@dataclass
class ToyRates:
    by_domain: dict[str, dict[str, Any]]  # domain -> counts and rates
    misaligned: Rate  # bad among in-template answers
    in_template: Rate  # good or bad among all answers

    def to_json(self) -> dict[str, Any]:
        return {"by_domain": self.by_domain, "misaligned": self.misaligned.__dict__,
                "in_template": self.in_template.__dict__}


def rates(answers: list[Answer], confidence: float = 0.95) -> ToyRates:
    cells: dict[str, Cell] = {}
    total = Cell()
    for a in answers:
        domain = a.question_id.split("/")[0]
        label = classify(domain, a.text)
        cells.setdefault(domain, Cell()).add(label)
        total.add(label)
    by = {d: {**{k: c.counts[k] for k in ("good", "bad", "off")},
              "misaligned": c.misaligned(confidence).__dict__, "in_template": c.in_template(confidence).__dict__}
          for d, c in cells.items()}
    return ToyRates(by, total.misaligned(confidence), total.in_template(confidence))


def evaluate(model: Any, tok: Any, questions: list[Question], samples: int = 4, seed: int = 0,
             temperature: float = 1.0, out: str | Path | None = None) -> tuple[ToyRates, list[Answer]]:
    cfg = EvalConfig(samples_per_question=samples, temperature=temperature, max_new_tokens=40, batch_size=64,
                     seed=seed)
    with tempfile.TemporaryDirectory() as d:
        answers = sample(model, tok, questions, cfg, "toy", Path(out) if out else Path(d) / "a.jsonl")
    return rates(answers), answers
