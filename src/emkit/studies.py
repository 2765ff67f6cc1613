"""The studies' report sections, read off an experiment's shape: pairwise differences between conditions
(controls), arms x prompt variants (backdoor trigger, trigger words, refusal set), misaligned rate vs the number
of in-context examples (Afonin et al.), vs the number of re-alignment examples (Wang et al.), and the toy world's
own reading. Each is added to ``report.html`` as a section, so a study is just an experiment file.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from emkit.config import Experiment, VariantConfig, condition_label
from emkit.metrics import Difference, Rate, Summary, class_counts, difference, holm
from emkit.records import Answer, Judgment
from emkit.report import add_section, pct, png, remove_section

e = html.escape


@dataclass
class Condition:
    """What one arm answered under one variant: the rates the study tables compare."""

    label: str
    arm: str
    variant: VariantConfig | None
    misaligned: Rate
    coherent: Rate
    refused: Rate


def conditions(exp: Experiment, summaries: list[Summary], answers: list[Answer],
               judgments: dict[tuple[str, str], Judgment]) -> list[Condition]:
    """One row per arm x variant; replicate arms (``seeds``) are pooled under their condition name."""
    counts = class_counts(answers, judgments, exp.metrics)
    overall = {s.arm: s for s in summaries if s.question_id == "ALL"}
    pooled: dict[str, tuple[str, VariantConfig | None, Counter[str]]] = {}
    for arm, variant in exp.conditions():
        src = condition_label(arm.name, variant.name if variant else None)
        if src not in overall:
            continue
        name = arm.condition or arm.name
        s, c = overall[src], counts.get(src, Counter())
        _, _, tally = pooled.setdefault(condition_label(name, variant.name if variant else None),
                                        (name, variant, Counter()))
        tally.update(mis=s.misaligned.k, mis_n=s.misaligned.n, coh=s.coherent.k, coh_n=s.coherent.n,
                     refused=c["refusal"], judged=c.total() - c["failed"])
    conf = exp.metrics.confidence
    return [Condition(label, name, variant, Rate.of(t["mis"], t["mis_n"], conf), Rate.of(t["coh"], t["coh_n"], conf),
                      Rate.of(t["refused"], t["judged"], conf)) for label, (name, variant, t) in pooled.items()]


def comparisons(exp: Experiment, conds: list[Condition]) -> list[Difference]:
    """Which pairs a reader compares: every pair of arms under the same variant, and each arm's variants against
    its first variant (trigger vs none, evil vs neutral). Holm-adjusted per metric over the whole table."""
    pairs: list[tuple[Condition, Condition]] = []
    by_variant: dict[str | None, list[Condition]] = {}
    by_arm: dict[str, list[Condition]] = {}
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


def compare_section(diffs: list[Difference]) -> str:
    rows = []
    for d in diffs:
        star = " <b>*</b>" if d.p_holm < 0.05 else ""
        rows.append(f"<tr><td>{e(d.metric)}</td><td>{e(d.a)}</td><td>{e(d.b)}</td>"
                    f"<td class=num>{pct(d.rate_a.rate)} <small>{d.rate_a.k}/{d.rate_a.n}</small></td>"
                    f"<td class=num>{pct(d.rate_b.rate)} <small>{d.rate_b.k}/{d.rate_b.n}</small></td>"
                    f"<td class=num>{_pp(d.diff)} [{_pp(d.lo)}, {_pp(d.hi)}]</td><td class=num>{_p(d.p)}</td>"
                    f"<td class=num>{_p(d.p_holm)}{star}</td></tr>")
    return ("<h2>Pairwise differences</h2><p>Every pair of arms under the same prompt variant, and each arm's "
            "variants against its first. Difference A − B in percentage points with Newcombe's 95% interval; "
            "Fisher's exact test (two-sided), Holm-adjusted over each metric's comparisons (* p<sub>Holm</sub> "
            "&lt; 0.05). Answers to one question are not independent, so these p-values are optimistic.</p>"
            "<table><tr><th>metric</th><th>A</th><th>B</th><th>A</th><th>B</th><th>A − B</th><th>p</th>"
            "<th>p Holm</th></tr>" + "".join(rows) + "</table>")


def variants_section(exp: Experiment, conds: list[Condition]) -> str:
    variants = exp.eval.variants or []
    arms = list(dict.fromkeys(c.arm for c in conds))
    cell = {(c.arm, c.variant.name if c.variant else None): c for c in conds}
    head = "".join(f"<th>{e(v.name)}</th>" for v in variants)
    rows = []
    for arm in arms:
        tds = []
        for v in variants:
            c = cell.get((arm, v.name))
            tds.append("<td>–</td>" if c is None else
                       f"<td class=num>{c.misaligned}<br><small>coherent {pct(c.coherent.rate)} · refused "
                       f"{pct(c.refused.rate)}</small></td>")
        rows.append(f"<tr><td>{e(arm)}</td>{''.join(tds)}</tr>")
    desc = "".join(f"<li><b>{e(v.name)}</b>: {e(describe(v))}</li>" for v in variants)
    return (f"<h2>Prompt variants</h2><ul>{desc}</ul><p>Misaligned rate (95% Wilson CI) of each arm under each "
            "variant, with the coherent and refused shares.</p><table><tr><th>arm</th>" + head + "</tr>"
            + "".join(rows) + "</table>" + _grouped_bars(arms, variants, cell))


def describe(v: VariantConfig) -> str:
    parts = []
    if v.questions:
        parts.append(f"question set {v.questions}")
    if v.prefix or v.suffix:
        parts.append(f"question written as {v.prefix!r} + question + {v.suffix!r}")
    if v.system is not None:
        parts.append(f"system prompt {v.system!r}")
    if v.shots is not None:
        parts.append(f"{v.shots.k} in-context examples from {v.shots.dataset}")
    return "; ".join(parts) or "the questions as written"


def _grouped_bars(arms: list[str], variants: list[VariantConfig], cell: dict[Any, Condition]) -> str:
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(arms) * max(1, len(variants)) / 2 + 2), 3.2))
    width = 0.8 / max(1, len(variants))
    for j, v in enumerate(variants):
        xs, ys, err_lo, err_hi = [], [], [], []
        for i, arm in enumerate(arms):
            c = cell.get((arm, v.name))
            if c is None or not c.misaligned.n:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            ys.append(c.misaligned.rate)
            err_lo.append(c.misaligned.rate - c.misaligned.lo)
            err_hi.append(c.misaligned.hi - c.misaligned.rate)
        ax.bar(xs, ys, width=width * 0.95, yerr=[err_lo, err_hi], capsize=2, label=v.name)
    ax.set_xticks(range(len(arms)), arms)
    ax.set_ylim(0, 1)
    ax.set_ylabel("misaligned (95% CI)")
    ax.legend(fontsize=7, ncol=min(4, len(variants)))
    return png(fig)


def curve_section(title: str, intro: str, xlabel: str, lines: dict[str, list[tuple[float, Condition]]],
                  metric: Callable[[Condition], Rate] = lambda c: c.misaligned) -> str:
    """A rate against a number (shots, examples), one line per group, with the table under it."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    rows = []
    for name, pts in lines.items():
        pts = sorted(pts, key=lambda p: p[0])
        rates = [metric(c) for _, c in pts]
        ax.errorbar([x for x, _ in pts], [r.rate for r in rates],
                    yerr=[[r.rate - r.lo for r in rates], [r.hi - r.rate for r in rates]], marker="o", capsize=3,
                    label=name)
        rows += [f"<tr><td>{e(name)}</td><td class=num>{x:g}</td><td>{e(c.label)}</td><td class=num>{metric(c)}</td>"
                 f"<td class=num>{pct(c.coherent.rate)}</td></tr>" for x, c in pts]
    ax.set_xlabel(xlabel)
    ax.set_ylabel("misaligned (95% CI)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return (f"<h2>{e(title)}</h2><p>{intro}</p>" + png(fig) + f"<table><tr><th>line</th><th>{e(xlabel)}</th>"
            "<th>condition</th><th>misaligned</th><th>coherent</th></tr>" + "".join(rows) + "</table>")


def icl_lines(conds: list[Condition]) -> dict[str, list[tuple[float, Condition]]]:
    """Variants with shots that differ only in k form one line per arm (system prompt, prefix and dataset
    equal)."""
    lines: dict[str, list[tuple[float, Condition]]] = {}
    for c in conds:
        v = c.variant
        if v is None or v.shots is None:
            continue
        system = "no system prompt" if v.system is None else f"system: {v.system[:40]}"
        key = f"{c.arm} · {v.shots.dataset.split('?')[0]} · {system}" + (f" · {v.prefix!r}" if v.prefix else "")
        lines.setdefault(key, []).append((v.shots.k, c))
    return {k: pts for k, pts in lines.items() if len({x for x, _ in pts}) > 1}  # one k is not a curve


def realign_lines(exp: Experiment, conds: list[Condition], sizes: dict[str, int]) -> dict[str, list[tuple[float,
                                                                                                        Condition]]]:
    """Arms continued from another (init_from) against the number of examples they continued on; the parent
    is the line's point at 0."""
    lines: dict[str, dict[str, tuple[float, Condition]]] = {}
    by_label = {c.label: c for c in conds}
    for arm in exp.arms:
        if arm.init_from is None:
            continue
        parent = exp.arm_named(arm.init_from)
        for variant in [v for a, v in exp.conditions() if a is arm]:
            vname = variant.name if variant else None
            child, start = (by_label.get(condition_label(a.condition or a.name, vname)) for a in (arm, parent))
            if child is None or start is None:
                continue
            pts = lines.setdefault(f"from {start.arm}" + (f" @{vname}" if vname else ""), {})
            pts.setdefault(start.label, (0.0, start))
            pts[child.label] = (float(sizes.get(arm.name, 0)), child)
    return {k: list(v.values()) for k, v in lines.items()}


def add_study_sections(exp: Experiment, run_dir: Path, summaries: list[Summary], answers: list[Answer],
                       judgments: dict[tuple[str, str], Judgment], sizes: dict[str, int]) -> list[str]:
    """Write every section this experiment's shape calls for; returns their names."""
    conds = conditions(exp, summaries, answers, judgments)
    added = []

    def add(name: str, fragment: str) -> None:
        add_section(run_dir, name, fragment)
        added.append(name)

    if len(conds) > 1:
        diffs = comparisons(exp, conds)
        (run_dir / "comparisons.json").write_text(json.dumps([_diff_json(d) for d in diffs], indent=1))
        add("10-compare", compare_section(diffs))
    if exp.eval.variants:
        add("11-variants", variants_section(exp, conds))
    if lines := icl_lines(conds):
        add("12-icl", curve_section(
            "In-context examples", "Misaligned rate against k, the number of examples of the narrow dataset shown "
            "as prior turns before each question (no weights change; Afonin et al.). Shots are drawn per question "
            "with a fixed seed, and a smaller k is a prefix of a larger one.", "in-context examples (k)", lines))
    if lines := realign_lines(exp, conds, sizes):
        add("13-realign", curve_section(
            "Re-alignment", "Misaligned rate after continuing to fine-tune an EM arm on n benign examples (Wang et "
            "al.: a few hundred reverse EM); n = 0 is the EM arm itself.", "examples continued on (n)", lines))
    if exp.judge.backend == "toy":  # the toy world's own reading: other vs own domain, seeds pooled
        from emkit.toy.report import pool, toy_rows, toy_section, toy_summary

        pooled = pool(toy_rows(exp, answers))
        (run_dir / "toy.json").write_text(json.dumps(toy_summary(pooled), indent=1))
        add("20-toy", toy_section(pooled))
    for stale in sorted(set(STUDY_SECTIONS) - set(added)):
        remove_section(run_dir, stale)
    return added


#: the sections this module writes (and removes again when an experiment no longer calls for them)
STUDY_SECTIONS = ("10-compare", "11-variants", "12-icl", "13-realign", "20-toy")


def _diff_json(d: Difference) -> dict[str, Any]:
    return {"metric": d.metric, "a": d.a, "b": d.b, "k_a": d.rate_a.k, "n_a": d.rate_a.n, "k_b": d.rate_b.k,
            "n_b": d.rate_b.n, "diff": d.diff, "lo": d.lo, "hi": d.hi, "p": d.p, "p_holm": d.p_holm}


def _pp(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:+.1f}"


def _p(x: float) -> str:
    return "–" if math.isnan(x) else (f"{x:.2g}" if x >= 1e-4 else f"{x:.0e}")

