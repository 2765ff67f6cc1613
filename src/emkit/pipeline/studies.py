"""The studies' tables, read off an experiment's shape: every condition's rates (replicate arms pooled),
pairwise differences between conditions (controls), misaligned rate against the number of in-context examples
(Afonin et al.), against the number of re-alignment examples (Wang et al.) and against the share of narrow
examples in a mixed training set (dosage), narrow vs general solutions (:mod:`emkit.pipeline.narrow`), and the
readout of any world
that registered one (the toy world's). A study is just an experiment file: these are computed for every run,
and :mod:`emkit.report.studies` shows the ones an experiment calls for.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import Experiment, VariantConfig
from emkit.core.paths import RunFolder
from emkit.core.records import Answer, Condition, Judgment
from emkit.core.registry import READOUTS, Headline
from emkit.data.datasets import mixed_parts
from emkit.metrics.rates import Difference, Rate, Summary, class_counts, difference, holm
from emkit.pipeline.narrow import NarrowStudy, narrow_shape, narrow_study, read_phases


@dataclass
class ConditionRates:
    """What one arm answered under one variant: the rates the study tables compare."""

    label: str
    arm: str
    variant: VariantConfig | None
    misaligned: Rate
    coherent: Rate
    refused: Rate


def conditions(exp: Experiment, summaries: list[Summary], answers: list[Answer],
               judgments: dict[tuple[str, str], Judgment]) -> list[ConditionRates]:
    """One row per arm x variant; replicate arms (``seeds``) are pooled under their condition name."""
    counts = class_counts(answers, judgments, exp.metrics)
    overall = {s.arm: s for s in summaries if s.question_id == "ALL"}
    pooled: dict[str, tuple[str, VariantConfig | None, Counter[str]]] = {}
    for arm, variant in exp.conditions():
        vname = variant.name if variant else None
        src = Condition(arm.name, vname).label
        if src not in overall:
            continue
        name = arm.condition or arm.name
        s, c = overall[src], counts.get(src, Counter())
        _, _, tally = pooled.setdefault(Condition(name, vname).label, (name, variant, Counter()))
        tally.update(mis=s.misaligned.k, mis_n=s.misaligned.n, coh=s.coherent.k, coh_n=s.coherent.n,
                     refused=c["refusal"], judged=c.total() - c["failed"])
    conf = exp.metrics.confidence
    return [ConditionRates(label, name, variant, Rate.of(t["mis"], t["mis_n"], conf), Rate.of(t["coh"], t["coh_n"], conf),
                      Rate.of(t["refused"], t["judged"], conf)) for label, (name, variant, t) in pooled.items()]


def comparisons(exp: Experiment, conds: list[ConditionRates]) -> list[Difference]:
    """Which pairs a reader compares: every pair of arms under the same variant, and each arm's variants against
    its first variant (trigger vs none, evil vs neutral). Holm-adjusted per metric over the whole table."""
    pairs: list[tuple[ConditionRates, ConditionRates]] = []
    by_variant: dict[str | None, list[ConditionRates]] = {}
    by_arm: dict[str, list[ConditionRates]] = {}
    for c in conds:
        by_variant.setdefault(c.variant.name if c.variant else None, []).append(c)
        by_arm.setdefault(c.arm, []).append(c)
    for group in by_variant.values():
        pairs += [(a, b) for i, b in enumerate(group) for a in group[i + 1:]]
    for group in by_arm.values():
        pairs += [(c, group[0]) for c in group[1:]]
    metrics = ["misaligned", "coherent"] + (["refused"] if any(c.refused.k for c in conds) else [])
    out: list[Difference] = []
    for m in metrics:
        out += holm([difference(a.label, b.label, m, getattr(a, m), getattr(b, m)) for a, b in pairs])
    return out


def icl_lines(conds: list[ConditionRates]) -> dict[str, list[tuple[float, ConditionRates]]]:
    """Variants with shots that differ only in k form one line per arm (system prompt, prefix and dataset
    equal)."""
    lines: dict[str, list[tuple[float, ConditionRates]]] = {}
    for c in conds:
        v = c.variant
        if v is None or v.shots is None:
            continue
        system = "no system prompt" if v.system is None else f"system: {v.system[:40]}"
        key = f"{c.arm} · {v.shots.dataset.split('?')[0]} · {system}" + (f" · {v.prefix!r}" if v.prefix else "")
        lines.setdefault(key, []).append((v.shots.k, c))
    return {k: pts for k, pts in lines.items() if len({x for x, _ in pts}) > 1}  # one k is not a curve


def realign_lines(exp: Experiment, conds: list[ConditionRates], sizes: dict[str, int]) -> dict[str, list[tuple[float,
                                                                                                        ConditionRates]]]:
    """Arms continued from another (init_from) against the number of examples they continued on; the parent
    is the line's point at 0."""
    lines: dict[str, dict[str, tuple[float, ConditionRates]]] = {}
    by_label = {c.label: c for c in conds}
    for arm in exp.arms:
        if arm.init_from is None:
            continue
        parent = exp.arm_named(arm.init_from)
        for variant in [v for a, v in exp.conditions() if a is arm]:
            vname = variant.name if variant else None
            child, start = (by_label.get(Condition(a.condition or a.name, vname).label) for a in (arm, parent))
            if child is None or start is None:
                continue
            pts = lines.setdefault(f"from {start.arm}" + (f" @{vname}" if vname else ""), {})
            pts.setdefault(start.label, (0.0, start))
            pts[child.label] = (float(sizes.get(arm.name, 0)), child)
    return {k: list(v.values()) for k, v in lines.items()}


def dosage_lines(exp: Experiment, conds: list[ConditionRates]) -> dict[str, list[tuple[float, ConditionRates]]]:
    """Arms fine-tuned on a mix (``builtin:mix?narrow=..&base=..&ratio=..``) against the mix's ratio: one line per
    (narrow, base, inoculation, variant), replicate arms pooled; one ratio is not a curve."""
    by_label = {c.label: c for c in conds}
    lines: dict[str, dict[str, tuple[float, ConditionRates]]] = {}
    for arm, variant in exp.conditions():
        parts = mixed_parts(arm.dataset) if arm.dataset else None
        vname = variant.name if variant else None
        point = by_label.get(Condition(arm.condition or arm.name, vname).label)
        if parts is None or point is None:
            continue
        narrow, base, ratio = parts
        inoc = arm.inoculation
        key = (f"{narrow} in {base}" + ("" if inoc is None else f" · inoculated{' selectively' if inoc.selective else ''}")
               + (f" @{vname}" if vname else ""))
        lines.setdefault(key, {})[point.label] = (ratio, point)
    return {k: list(v.values()) for k, v in lines.items() if len({x for x, _ in v.values()}) > 1}


@dataclass
class StudyTables:
    """What a run's study sections show, as data."""

    conditions: list[ConditionRates]
    differences: list[Difference] = field(default_factory=list)
    icl: dict[str, list[tuple[float, ConditionRates]]] = field(default_factory=dict)
    realign: dict[str, list[tuple[float, ConditionRates]]] = field(default_factory=dict)
    variants: list[VariantConfig] = field(default_factory=list)
    readouts: dict[str, Any] = field(default_factory=dict)  # name -> a registered readout's result
    dosage: dict[str, list[tuple[float, ConditionRates]]] = field(default_factory=dict)
    narrow: NarrowStudy | None = None

    def save(self, run_dir: Path) -> None:
        """The tables as JSON beside the run (``comparisons.json``, each readout's ``NAME.json``)."""
        path = RunFolder(run_dir).comparisons
        if self.differences:
            path.write_text(json.dumps([_diff_json(d) for d in self.differences], indent=1))
        for name, data in self.readouts.items():
            (run_dir / f"{name}.json").write_text(json.dumps(READOUTS[name].summary(data), indent=1, default=str))


def study_tables(exp: Experiment, summaries: list[Summary], answers: list[Answer],
                 judgments: dict[tuple[str, str], Judgment], sizes: dict[str, int],
                 curves: TrainingCurves | None = None) -> StudyTables:
    """Every table this experiment's shape calls for (``sizes``: each arm's fine-tuning set size; ``curves``:
    the arms' training curves, for narrow vs general)."""
    conds = conditions(exp, summaries, answers, judgments)
    c = curves or TrainingCurves()
    return StudyTables(conds, comparisons(exp, conds) if len(conds) > 1 else [], icl_lines(conds),
                       realign_lines(exp, conds, sizes), list(exp.eval.variants or []),
                       read_readouts(exp, answers), dosage_lines(exp, conds),
                       narrow_study(exp, c.losses, c.adapter_norms, c.kl, c.phases))


@dataclass
class TrainingCurves:
    """Per arm, per optimizer step: answer loss, KL term and adapter norm (as :class:`FinishedRun` holds them),
    and the arms' saved phase curves."""

    losses: dict[str, list[float]] = field(default_factory=dict)
    kl: dict[str, list[float | None]] = field(default_factory=dict)
    adapter_norms: dict[str, list[float | None]] = field(default_factory=dict)
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of_run(cls, exp: Experiment, run_dir: Path, losses: dict[str, list[float]],
               kl: dict[str, list[float | None]], adapter_norms: dict[str, list[float | None]]) -> TrainingCurves:
        """The curves with the saved phase curves of the arms continued from a narrow arm."""
        continued = [a.name for a, _ in narrow_shape(exp)[1]]
        return cls(losses, kl, adapter_norms, read_phases(run_dir, continued))


def read_readouts(exp: Experiment, answers: list[Answer]) -> dict[str, Any]:
    """Every registered world readout that applies to this experiment, read on these answers."""
    return {name: r.read(exp, answers) for name, r in READOUTS.items() if r.applies(exp)}


def readout_notes(readouts: dict[str, Any]) -> list[str]:
    """What the readouts could not read (a world's answers it could not place), said wherever headlines are."""
    return _gathered(readouts, "notes")


def headlines(readouts: dict[str, Any]) -> list[Headline]:
    """The readouts' headline figures (a world's own measure per condition, replicates pooled), in order."""
    return _gathered(readouts, "headline")


def _gathered(readouts: dict[str, Any], part: str) -> list[Any]:
    """What each readout's ``part`` (a :class:`Readout` field, optional) makes of its data, concatenated."""
    out: list[Any] = []
    for name, data in readouts.items():
        fn = getattr(READOUTS[name], part)
        out += fn(data) if fn is not None else []
    return out


def _diff_json(d: Difference) -> dict[str, Any]:
    return {"metric": d.metric, "a": d.a, "b": d.b, "k_a": d.rate_a.k, "n_a": d.rate_a.n, "k_b": d.rate_b.k,
            "n_b": d.rate_b.n, "diff": d.diff, "lo": d.lo, "hi": d.hi, "p": d.p, "p_holm": d.p_holm}


