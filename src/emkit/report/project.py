"""The language-vs-weights section: every condition's shift along a direction against its misaligned rate."""

from __future__ import annotations

import html
import math

import matplotlib.pyplot as plt

from emkit.analyses.project import Projection, summary_rows
from emkit.report.html import pct, png


def projection_section(res: Projection) -> str:
    e = html.escape
    r, rho, n = res.correlation()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, pts in res.by_condition().items():
        ax.scatter([res.shift(p) for p in pts], [p.misaligned.rate if p.misaligned.n else math.nan for p in pts],
                   label=f"{label} ({res.kinds.get(label, '?')})", s=22, alpha=0.8,
                   marker={"fine-tuned": "^", "in-context": "s"}.get(res.kinds.get(label, ""), "o"))
    ax.axvline(0, color="#999", lw=0.8)
    ax.set_xlabel(f"projection shift from {res.reference}, same question ({res.direction}, layer {res.layer}, "
                  f"{res.read})")
    ax.set_ylabel("misaligned rate (per question)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=6, ncol=2)
    rows = "".join(
        f"<tr><td>{e(str(x['condition']))}</td><td>{e(res.kinds.get(str(x['condition']), ''))}</td><td class=num>{x['projection']:+.2f}</td>"
        f"<td class=num>{x['d_projection']:+.2f}</td><td class=num>{x['misaligned']}</td>"
        f"<td class=num>{pct(x['d_misaligned'])}</td></tr>" for x in summary_rows(res))  # type: ignore[arg-type]
    where = "the last prompt token" if res.read == "prompt" else "the answers' tokens (mean)"
    return (f"<h2>Language vs weights</h2><p>Each condition's activations at layer {res.layer}, read at {where}, "
            f"projected on the unit direction <b>{e(res.direction)}</b>; one point per condition × question: "
            f"its shift from <b>{e(res.reference)}</b> on the same question (questions differ along the direction "
            f"more than conditions do) against that question's misaligned rate. Pearson r = {r:.2f}, Spearman "
            f"ρ = {rho:.2f} over {n} points (questions shared across conditions, so not independent). Triangles: "
            f"fine-tuned arms; squares: the base model after in-context examples; circles: the base model under "
            f"prompt variants.</p>" + png(fig)
            + "<table><tr><th>condition</th><th>kind</th><th>projection</th><th>shift</th><th>misaligned</th>"
            "<th>shift</th></tr>" + rows + "</table>")
