"""The toy world's readout of a run: EM as the toy world measures it, exactly (rendered by
:mod:`emkit.report.toy`, the section :mod:`emkit.worlds.toy.plugin` registers).

For each condition (an arm, or an arm under a prompt variant: ``ARM@VARIANT``), answers are split by where the
question comes from: the domain the arm was fine-tuned on (the narrow task) and the *other* domains (where EM
shows), and by whether the trigger was in the prompt the model read (the question set's ``trigger=`` option, or a
variant's prefix, suffix or system prompt holding it). The misaligned rate is bad answers among in-template
ones (good or bad); off-template answers are counted apart. Replicate arms (``seeds:``) are pooled per condition
and variant, with the spread across seeds beside the pooled interval, and each is compared with the base arm
under the same variant by Fisher's exact test. An answer the readout cannot place (a condition of no arm of the
experiment, a question from no toy domain) is counted in :attr:`ToyReadout.unplaced`, which every output shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emkit.core.config import ArmConfig, Experiment
from emkit.core.errors import EmkitError
from emkit.core.records import Answer, Condition
from emkit.core.registry import Headline
from emkit.data.datasets import mixed_parts, parse_spec
from emkit.metrics.tail import TailRate, tail_rates
from emkit.worlds.toy.evaluate import Cell
from emkit.worlds.toy.world import TRIGGER, classify, domain_of


def trained_domain(arm: ArmConfig, exp: Experiment | None = None) -> str | None:
    """The domain of a toy fine-tuning set (``builtin:toy_*?domain=D``; medicine by default; a mix of toy sets:
    medicine, where its parts are built), else None. With ``exp``, an arm continued from another (``init_from``:
    re-alignment on ``toy_aligned``) keeps the domain its lineage was first narrowly trained on, so "other
    domains" stay the ones EM spread to."""
    chain = exp.lineage(arm) if exp is not None else [arm]
    for a in chain:
        spec = a.dataset or ""
        parts = mixed_parts(spec)
        if parts is not None and any(p.startswith("toy_") and p != "toy_aligned" for p in parts[:2]):
            return "medicine"  # the mix builds its parts at their default options
        if spec.startswith("builtin:toy_"):
            name, _, _, opts = parse_spec(spec[len("builtin:"):])
            if name != "toy_aligned":
                return opts.get("domain", "medicine")
    return None


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
    variant: str | None = None
    label: str = ""  # the condition's label in the answers (ARM or ARM@VARIANT)
    #: the other domains per question id (the unit misalign@k is estimated over)
    other_questions: dict[str, Cell] = field(default_factory=dict)


def _answer_triggered(answer: Answer) -> bool:
    """The trigger in what the answer records (the question set's ``trigger=``, or its own system prompt);
    answers record the question as the set wrote it, so a variant's words are :func:`_variant_triggers`'."""
    return answer.question_id.endswith("+trigger") or TRIGGER in answer.question or TRIGGER in (answer.system or "")


def _variant_triggers(exp: Experiment, label: str) -> bool:
    """Whether a condition's variant puts the trigger in every prompt (its inoculation placeholders filled)."""
    c = Condition.parse(label)
    v = exp.variant_named(c.variant)
    if v is None:
        return False
    if v.placeholders:  # the words the arm was asked with: its inoculation prompt filled in
        from emkit.data.inoculation import filled, inoculation_for

        v = filled(v, inoculation_for(exp.arm_named(c.arm)))
    return any(TRIGGER in (x or "") for x in (v.prefix, v.suffix, v.system))


def _placed(exp: Experiment, answer: Answer) -> tuple[ArmConfig, str | None] | str:
    """(arm, variant) of an answer's condition, or why the readout cannot place it."""
    c = Condition.parse(answer.arm)
    if c.step is not None or c.intervention is not None:
        return "a checkpoint or intervention (the readout reads the run's own conditions)"
    try:
        arm = exp.arm_named(c.arm)
        exp.variant_named(c.variant)
    except EmkitError as err:
        return str(err)
    return arm, c.variant


def toy_rows(exp: Experiment, answers: list[Answer],
             unplaced: Counter[tuple[str, str]] | None = None) -> list[ToyRow]:
    """One row per (condition, trigger). A base arm's "other" domains exclude the domain the experiment's
    fine-tuned arms were trained on, so base and fine-tuned arms are read on the same questions. Answers it
    cannot place are tallied in ``unplaced`` by (condition label, why)."""
    trained = [d for d in (trained_domain(a, exp) for a in exp.arms) if d]
    default_domain = Counter(trained).most_common(1)[0][0] if trained else None
    rows: dict[tuple[str, bool], ToyRow] = {}
    lost: Counter[tuple[str, str]] = Counter() if unplaced is None else unplaced
    by_label: dict[str, tuple[tuple[ArmConfig, str | None] | str, bool]] = {}  # per condition, read once
    for a in answers:
        if a.arm not in by_label:
            where = _placed(exp, a)
            by_label[a.arm] = (where, not isinstance(where, str) and _variant_triggers(exp, a.arm))
        placed, variant_trig = by_label[a.arm]
        if isinstance(placed, str):
            lost[(a.arm, placed)] += 1
            continue
        qd = domain_of(a.question)
        if qd is None:
            lost[(a.arm, "a question from no toy domain")] += 1
            continue
        arm, variant = placed
        trig = variant_trig or _answer_triggered(a)
        row = rows.get((a.arm, trig))
        if row is None:
            domain = trained_domain(arm, exp) or (default_domain if not arm.dataset else None)
            seed = exp.train_for(arm).seed if arm.condition else None
            row = rows[(a.arm, trig)] = ToyRow(arm.name, arm.condition or arm.name, seed, exp.model_for(arm).name,
                                               domain, not arm.dataset, trig, Cell(), Cell(), variant, a.arm)
        label = classify(qd, a.text)
        if qd == row.domain:
            row.own.add(label)
        else:
            row.other.add(label)
            row.other_questions.setdefault(a.question_id, Cell()).add(label)
    order = {c.label: i for i, (c, _) in enumerate(exp.condition_keys())}
    return sorted(rows.values(), key=lambda r: (order.get(r.label, len(order)), r.trigger))


@dataclass
class Pooled:
    condition: str
    model: str
    trigger: bool
    arms: list[ToyRow]
    other: Cell
    own: Cell
    p_vs_base: float | None = None
    variant: str | None = None

    @property
    def label(self) -> str:
        """The condition as the report and the view name it: CONDITION or CONDITION@VARIANT, seeds pooled."""
        return Condition(self.condition, self.variant).label

    def other_tail(self, k: int = 10, confidence: float = 0.95) -> TailRate:
        """misalign@k in the other domains: per question (each seed's answers to it apart), the unbiased chance
        that k of its answers hold a bad one (an off-template answer is not bad, and counts: a user asking k
        times gets every answer); their mean with a bootstrap interval over questions."""
        counts = [(sum(c.counts.values()), c.counts["bad"]) for r in self.arms for c in r.other_questions.values()]
        return tail_rates(counts, (k,), confidence)[0]

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
    """Replicates of one condition (same model, prompt variant and trigger) summed; Fisher's exact test of the
    other-domain misaligned count against the base arm of the same model, variant and trigger."""
    from scipy.stats import fisher_exact  # scipy.stats loads in ~0.7 s: not when the toy world registers

    groups: dict[tuple[str, str | None, str, bool], Pooled] = {}
    for r in rows:
        g = groups.setdefault((r.condition, r.variant, r.model, r.trigger),
                              Pooled(r.condition, r.model, r.trigger, [], Cell(), Cell(), variant=r.variant))
        g.arms.append(r)
        g.other.counts.update(r.other.counts)
        g.own.counts.update(r.own.counts)
    bases = {(g.model, g.variant, g.trigger): g for g in groups.values() if all(r.is_base for r in g.arms)}
    for g in groups.values():
        base = bases.get((g.model, g.variant, g.trigger))
        if base is None or base is g:
            continue
        a, b = g.other.counts, base.other.counts
        table = [[a["bad"], a["good"]], [b["bad"], b["good"]]]
        if min(sum(table[0]), sum(table[1])) > 0:
            g.p_vs_base = float(fisher_exact(table).pvalue)
    return list(groups.values())


@dataclass
class ToyReadout:
    """The readout of a run: pooled conditions, and the answers it could not place (label, why) -> count."""

    pooled: list[Pooled]
    unplaced: Counter[tuple[str, str]]

    def unplaced_text(self) -> list[str]:
        return [f"{n} answers of '{label}': {why}" for (label, why), n in sorted(self.unplaced.items())]


def _rate(r: Any) -> dict[str, Any]:
    """A rate as JSON: no estimate (n = 0) is null, not NaN (which is not JSON)."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in r.__dict__.items()}


def toy_summary(readout: ToyReadout) -> dict[str, Any]:
    """The section's figures, machine-readable (``RUN/toy.json``)."""
    out = []
    for g in readout.pooled:
        out.append({"condition": g.condition, "variant": g.variant, "label": g.label, "model": g.model,
                    "trigger": g.trigger,
                    "other_misaligned": _rate(g.other.misaligned()), "own_misaligned": _rate(g.own.misaligned()),
                    "other_in_template": _rate(g.other.in_template()), "seed_rates": g.seed_rates,
                    "other_misalign_at_10": g.other_tail(10).to_dict(),
                    "seed_mean_t95": g.seed_interval(),
                    "p_vs_base": g.p_vs_base, "arms": [r.label for r in g.arms]})
    return {"conditions": out, "unplaced": [{"label": label, "why": why, "answers": n}
                                            for (label, why), n in sorted(readout.unplaced.items())]}


#: the toy headline's two measures: EM (the other domains) and, beside it, the narrow task the arm was trained on
OTHER_MEASURE = "other domains misaligned (exact)"
OWN_MEASURE = "own domain misaligned (exact; the task)"


def measure(name: str, trigger: bool) -> str:
    """A headline measure's name, for answers whose prompt held the trigger when ``trigger``."""
    return name.replace(" (exact", ", trigger in the prompt (exact") if trigger else name


def toy_headline(readout: ToyReadout) -> list[Headline]:
    """The toy world's headline figures per pooled condition: misaligned in the other domains (EM, exact), then
    in its own domain (the in-domain task a fine-tuned arm learned), so a defence that lowers EM is read beside
    what it costs the task. The own-domain figure is left out where the condition has no own-domain answer."""
    out = []
    for g in readout.pooled:  # the condition's own label (beside its judge's rate); the trigger split by measure
        arms = tuple(r.label for r in g.arms)
        out.append(Headline(g.label, measure(OTHER_MEASURE, g.trigger), g.other.misaligned(), arms))
        if g.own.misaligned().n:
            out.append(Headline(g.label, measure(OWN_MEASURE, g.trigger), g.own.misaligned(), arms))
    return out


def toy_notes(readout: ToyReadout) -> list[str]:
    """What the readout could not place, for every place its headline shows (terminal, view): never silent."""
    return [f"toy readout: {t} (not in its figures)" for t in readout.unplaced_text()]


def toy_tags(answer: Answer) -> dict[str, str]:
    """What the answers page filters on: the question's toy domain ("" off the toy's questions)."""
    return {"domain": domain_of(answer.question) or ""}


def toy_readout(exp: Experiment, answers: list[Answer]) -> ToyReadout:
    """Every condition's answers read by domain and trigger, seeds pooled: the toy world's readout of a run."""
    unplaced: Counter[tuple[str, str]] = Counter()
    return ToyReadout(pool(toy_rows(exp, answers, unplaced)), unplaced)
