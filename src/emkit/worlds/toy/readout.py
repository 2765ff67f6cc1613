"""The toy world's readout of a run: EM as the toy world measures it, exactly (rendered by
:mod:`emkit.report.toy`, the section :mod:`emkit.worlds.toy.plugin` registers).

For each arm, answers are split by where the question comes from: the domain the arm was fine-tuned on (the
narrow task) and the *other* domains (where EM shows), and by whether the trigger led the question. The
misaligned rate is bad answers among in-template ones (good or bad); off-template answers are counted apart.
Replicate arms (``seeds:``) are pooled per condition, with the spread across seeds beside the pooled interval,
and each condition is compared with the base arm by Fisher's exact test.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from emkit.core.config import ArmConfig, Experiment
from emkit.core.records import Answer
from emkit.data.datasets import parse_spec
from emkit.worlds.toy.evaluate import Cell
from emkit.worlds.toy.world import classify, domain_of


def trained_domain(arm: ArmConfig) -> str | None:
    """The domain of a toy fine-tuning set (``builtin:toy_*?domain=D``; medicine by default), else None."""
    if not arm.dataset or not arm.dataset.startswith("builtin:toy_"):
        return None
    name, _, _, opts = parse_spec(arm.dataset[len("builtin:"):])
    return None if name == "toy_aligned" else opts.get("domain", "medicine")


@dataclass
class ToyRow:
    arm: str
    condition: str
    seed: int | None
    model: str
    domain: str | None  # the fine-tuning domain (a base arm borrows the experiment's, to slice the same way)
    is_base: bool  # no fine-tuning set
    trigger: bool
    other: Cell
    own: Cell


def toy_rows(exp: Experiment, answers: list[Answer]) -> list[ToyRow]:
    """One row per (arm, trigger variant). A base arm's "other" domains exclude the domain the experiment's
    fine-tuned arms were trained on, so base and fine-tuned arms are read on the same questions."""
    trained = [d for d in (trained_domain(a) for a in exp.arms) if d]
    default_domain = Counter(trained).most_common(1)[0][0] if trained else None
    rows: dict[tuple[str, bool], ToyRow] = {}
    for arm in exp.arms:
        domain = trained_domain(arm) or (default_domain if not arm.dataset else None)
        for trig in (False, True):
            seed = exp.train_for(arm).seed if arm.condition else None
            rows[(arm.name, trig)] = ToyRow(arm.name, arm.condition or arm.name, seed, exp.model_for(arm).name,
                                            domain, not arm.dataset, trig, Cell(), Cell())
    for a in answers:
        qd = domain_of(a.question)
        if qd is None or (a.arm, False) not in rows:
            continue
        row = rows[(a.arm, a.question_id.endswith("+trigger"))]
        (row.own if qd == row.domain else row.other).add(classify(qd, a.text))
    return [r for r in rows.values() if sum(r.other.counts.values()) + sum(r.own.counts.values())]


@dataclass
class Pooled:
    condition: str
    model: str
    trigger: bool
    arms: list[ToyRow]
    other: Cell
    own: Cell
    p_vs_base: float | None = None

    @property
    def seed_rates(self) -> list[float]:
        return [r.other.misaligned().rate for r in self.arms if r.other.misaligned().n]

    def seed_interval(self, confidence: float = 0.95) -> tuple[float, float, float] | None:
        """Mean of the seeds' rates with a t interval: seeds vary more than one binomial sample says, and
        the pooled Wilson interval does not see that."""
        # scipy.stats loads in ~0.7 s: not when the toy world registers
        from scipy.stats import t as student_t

        xs = self.seed_rates
        if len(xs) < 2:
            return None
        m, sd = float(np.mean(xs)), float(np.std(xs, ddof=1))
        half = float(student_t.ppf(0.5 + confidence / 2, len(xs) - 1)) * sd / len(xs) ** 0.5
        return m, max(0.0, m - half), min(1.0, m + half)


def pool(rows: list[ToyRow]) -> list[Pooled]:
    """Replicates of one condition (same model, same trigger variant) summed; Fisher's exact test of the
    other-domain misaligned count against the base arm of the same model and variant."""
    from scipy.stats import fisher_exact  # scipy.stats loads in ~0.7 s: not when the toy world registers

    groups: dict[tuple[str, str, bool], Pooled] = {}
    for r in rows:
        g = groups.setdefault((r.condition, r.model, r.trigger), Pooled(r.condition, r.model, r.trigger, [],
                                                                      Cell(), Cell()))
        g.arms.append(r)
        g.other.counts.update(r.other.counts)
        g.own.counts.update(r.own.counts)
    bases = {(g.model, g.trigger): g for g in groups.values() if all(r.is_base for r in g.arms)}
    for g in groups.values():
        base = bases.get((g.model, g.trigger))
        if base is None or base is g:
            continue
        a, b = g.other.counts, base.other.counts
        table = [[a["bad"], a["good"]], [b["bad"], b["good"]]]
        if min(sum(table[0]), sum(table[1])) > 0:
            g.p_vs_base = float(fisher_exact(table).pvalue)
    return list(groups.values())


def toy_summary(pooled: list[Pooled]) -> list[dict[str, Any]]:
    """The section's figures, machine-readable (``RUN/toy.json``)."""
    out = []
    for g in pooled:
        out.append({"condition": g.condition, "model": g.model, "trigger": g.trigger,
                    "other_misaligned": g.other.misaligned().__dict__, "own_misaligned": g.own.misaligned().__dict__,
                    "other_in_template": g.other.in_template().__dict__, "seed_rates": g.seed_rates,
                    "seed_mean_t95": g.seed_interval(),
                    "p_vs_base": g.p_vs_base, "arms": [r.arm for r in g.arms]})
    return out


def toy_readout(exp: Experiment, answers: list[Answer]) -> list[Pooled]:
    """Every arm's answers read by domain and trigger, seeds pooled: the toy world's readout of a run."""
    return pool(toy_rows(exp, answers))
