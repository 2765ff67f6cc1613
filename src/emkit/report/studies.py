"""The studies' sections of a report: pairwise differences, arms x prompt variants, rate-vs-number curves
(in-context k, re-alignment n, dosage ratio) and narrow vs general, from
:class:`emkit.pipeline.studies.StudyTables`."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt

from emkit.analyses.phases import Onset
from emkit.core.config import VariantConfig
from emkit.metrics.rates import Difference, Rate
from emkit.pipeline.narrow import Continuation, EfficiencyPair, NarrowStudy
from emkit.pipeline.studies import ConditionRates, StudyTables
from emkit.report.html import pct, png

e = html.escape


def study_sections(tables: StudyTables) -> dict[str, str]:
    """Section name -> HTML, for every table the run has."""
    out = {}
    if tables.differences:
        out["compare"] = compare_section(tables.differences)
    if tables.variants:
        out["variants"] = variants_section(tables.variants, tables.conditions)
    if tables.icl:
        out["icl"] = curve_section(
            "In-context examples", "Misaligned rate against k, the number of examples of the narrow dataset shown "
            "as prior turns before each question (no weights change; Afonin et al.). Shots are drawn per question "
            "with a fixed seed, and a smaller k is a prefix of a larger one.", "in-context examples (k)", tables.icl)
    if tables.realign:
        out["realign"] = curve_section(
            "Re-alignment", "Misaligned rate after continuing to fine-tune an EM arm on n benign examples (Wang et "
            "al.: a few hundred reverse EM); n = 0 is the EM arm itself.", "examples continued on (n)",
            tables.realign)
    if tables.dosage:
        out["dosage"] = curve_section(
            "Dosage", "Misaligned rate against the share of narrow examples in the fine-tuning set (a mix: "
            "round(ratio × size) examples of the narrow set, the rest of the other, same questions by position); "
            "ratio 0 is fine-tuning on the other set alone.", "share of narrow examples (ratio)", tables.dosage)
    if tables.narrow is not None:
        out["narrow"] = narrow_section(tables.narrow)
    return out


def narrow_section(study: NarrowStudy) -> str:
    """Efficiency (loss against adapter norm, narrow and general arm) and stability (steps until EM returns
    once the KL term is dropped)."""
    parts = ["<h2>Narrow vs general</h2><p>Soligo, Turner et al. (\"EM is easy, narrow is hard\"): an arm trained "
             "with <code>train.kl</code> (narrow) beside an arm on the same dataset and model without it (general). "
             "<b>Efficiency</b>: in-domain answer loss against the adapter's norm (Σ over LoRA modules of "
             "‖scaling·BA‖<sub>F</sub>) over training; the claim is that the general solution reaches a lower "
             "loss at the same norm. A step's loss (measured before its update) is paired with the norm after "
             "the step before; lines are the loss smoothed by a centred moving mean over ±h steps (h a twentieth "
             "of the run, the window cut at the ends), dots the raw losses. Matched norms: each arm's smoothed "
             "loss when its norm first reached a norm both arms reach (linear between the two steps around the "
             "crossing); narrow − general &gt; 0 means the general solution is the more efficient there.</p>"]
    for pair in study.pairs:
        parts.append(_efficiency_plot(pair) + _efficiency_table(pair))
    if study.continued:
        parts.append(_stability(study.continued))
    if study.notes:
        parts.append("<p><small>" + "<br>".join(e(n) for n in study.notes) + "</small></p>")
    return "".join(parts)


def _efficiency_plot(pair: EfficiencyPair) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for c, style, role in ((pair.general, "-", "general"), (pair.narrow, "--", "narrow, train.kl")):
        line, = ax.plot(c.norms, c.losses, style, label=f"{c.arm} ({role})")
        ax.plot(c.norms, c.raw, ".", color=line.get_color(), alpha=0.25, markersize=3)
    for m in pair.matched:
        ax.axvline(m.norm, color="#999", lw=0.5, ls=":")
    ax.set_xlabel("adapter norm  Σ‖scaling·BA‖_F")
    ax.set_ylabel("in-domain answer loss")
    ax.set_title(f"model {pair.model} · {pair.dataset}", fontsize=8)
    ax.legend(fontsize=7)
    return png(fig)


def _efficiency_table(pair: EfficiencyPair) -> str:
    rows = "".join(f"<tr><td>{e(c.arm)}</td><td>{role}</td><td class=num>{c.final_loss:.4f}</td>"
                   f"<td class=num>{c.final_norm:.4g}</td></tr>"
                   for c, role in ((pair.general, "general"), (pair.narrow, "narrow")))
    out = ("<table><tr><th>arm</th><th>role</th><th>final loss (smoothed)</th><th>final norm</th></tr>" + rows
           + "</table>")
    if pair.matched:
        out += ("<table><tr><th>matched norm</th><th>" + e(pair.general.arm) + "</th><th>" + e(pair.narrow.arm)
                + "</th><th>narrow − general</th></tr>"
                + "".join(f"<tr><td class=num>{m.norm:.4g}</td><td class=num>{m.general:.4f}</td>"
                          f"<td class=num>{m.narrow:.4f}</td><td class=num>{m.diff:+.4f}</td></tr>"
                          for m in pair.matched) + "</table>")
    return out


def onset_text(onset: dict[str, Any] | None) -> str:
    """A saved phase curve's onset in words (saved as the JSON of :class:`emkit.analyses.phases.Onset`)."""
    return str(Onset(**onset)) if onset else str(Onset(None, None, None, None, 0))


def _stability(continued: list[Continuation]) -> str:
    rows = []
    for c in continued:
        got = (e(onset_text(c.onset)) if c.phases is not None else
               f"no phase curve yet: <code>emkit phases RUN_FOLDER --arm {e(c.arm)}</code>, then <code>emkit run"
               "</code> again (nothing is recomputed) to show it here")
        rows.append(f"<tr><td>{e(c.arm)}</td><td>{e(c.parent)}</td><td>{e(c.dataset)}</td><td>{got}</td></tr>")
    out = ("<h3>Stability</h3><p>Arms continued from a narrow arm on its dataset without the KL term: how many "
           "steps until EM returns, read as the onset of the continued arm's phase curve (<code>emkit phases</code>: "
           "the misaligned rate on a small fixed sample at every checkpoint; step 0 is the narrow parent): the "
           "first checkpoint whose rate is above step 0's, with a bootstrap interval. The rate is over the "
           "evaluation questions, in-domain ones included: the narrow parent's in-domain answers are already "
           "bad, so a rise is EM spreading to other domains.</p><table><tr><th>arm</th><th>continued from</th>"
           "<th>dataset</th><th>onset</th></tr>" + "".join(rows) + "</table>")
    drawn = [c for c in continued if c.phases and c.phases.get("rows")]
    if drawn:
        fig, ax = plt.subplots(figsize=(6, 3))
        for c in drawn:
            pts = c.phases["rows"] if c.phases else []
            line, = ax.plot([r["step"] for r in pts], [r["misaligned"] for r in pts], marker="o", label=c.arm)
            if c.onset and c.onset.get("step") is not None:
                ax.axvline(c.onset["step"], color=line.get_color(), ls=":", lw=1)
        ax.set_xlabel("steps continued without the KL term")
        ax.set_ylabel("misaligned (phase sample)")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7)
        out += png(fig)
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


def variants_section(variants: list[VariantConfig], conds: list[ConditionRates]) -> str:
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
    if v.placeholders:
        parts.append("each arm asked with its own inoculation prompt or its negation (arms without one are not "
                     "asked)")
    if v.system is not None:
        parts.append(f"system prompt {v.system!r}")
    if v.shots is not None:
        parts.append(f"{v.shots.k} in-context examples from {v.shots.dataset}")
    return "; ".join(parts) or "the questions as written"


def _grouped_bars(arms: list[str], variants: list[VariantConfig], cell: dict[Any, ConditionRates]) -> str:
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


def curve_section(title: str, intro: str, xlabel: str, lines: dict[str, list[tuple[float, ConditionRates]]],
                  metric: Callable[[ConditionRates], Rate] = lambda c: c.misaligned) -> str:
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


def _pp(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:+.1f}"


def _p(x: float) -> str:
    return "–" if math.isnan(x) else (f"{x:.2g}" if x >= 1e-4 else f"{x:.0e}")

