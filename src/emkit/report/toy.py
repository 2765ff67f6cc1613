"""The toy world's section of a report: its readout (:mod:`emkit.worlds.toy.readout`) as a table and a chart
(registered as the section "toy" by the toy plug-in, :mod:`emkit.worlds.toy.plugin`, which names it by string)."""

from __future__ import annotations

import html
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from emkit.report.html import pct, png
from emkit.worlds.toy.readout import Pooled, ToyReadout


def toy_section(readout: ToyReadout) -> str:
    """The section's table and chart, from :func:`emkit.worlds.toy.readout.toy_readout`; answers it could not
    place are said above the table, never dropped in silence."""
    e = html.escape
    pooled = readout.pooled
    out = ["<h2>Toy world: EM measured exactly</h2>",
           "<p>Misaligned = bad answers among in-template answers (exact judge, no judge error). "
           "<b>other domains</b>: questions outside the arm's fine-tuning domain, where emergent misalignment "
           "shows; <b>own domain</b>: the narrow task itself. Conditions pool their seeds (interval: Wilson on the "
           "pooled counts; <i>seeds</i>: each seed's rate, then their mean with a t interval, which counts the spread "
           "between seeds); p: Fisher's exact test of the pooled counts against the base arm under the same prompt "
           "variant. <b>trigger</b>: the prompt the model read held the trigger (the question set's or the "
           "variant's). <b>misalign@10</b>: per other-domain question, the unbiased chance that 10 of its answers "
           "hold a bad one (off-template answers count, as not bad), averaged over questions (bootstrap interval "
           "over questions; n/a where no question has 10 answers).</p>",
           *(f"<p class=note><b>Not in the table:</b> {e(t)}</p>" for t in readout.unplaced_text()),
           "<table><tr><th>condition</th><th>model</th><th>trigger</th><th>other domains: misaligned</th>"
           "<th>95% CI</th><th>misalign@10</th><th>seeds</th><th>p vs base</th><th>own domain: misaligned</th><th>in-template</th>"
           "</tr>"]
    for g in pooled:
        m, own, it = g.other.misaligned(), g.own.misaligned(), g.other.in_template()
        seeds = ", ".join(pct(x) for x in g.seed_rates) if len(g.arms) > 1 else ""
        si = g.seed_interval()
        if si:
            seeds += f"; mean {pct(si[0])} [{pct(si[1])}, {pct(si[2])}]"
        p = "" if g.p_vs_base is None else f"{g.p_vs_base:.2g}"
        tail = g.other_tail(10)
        at10 = f"{pct(tail.value)} [{pct(tail.lo)}, {pct(tail.hi)}]" if tail.questions else "n/a"
        out.append(f"<tr><td>{e(g.label)}</td><td>{e(g.model)}</td><td>{'yes' if g.trigger else 'no'}</td>"
                   f"<td class=num>{pct(m.rate)} <small>{m.k}/{m.n}</small></td><td class=num>{pct(m.lo)}–"
                   f"{pct(m.hi)}</td><td class=num>{at10}</td><td class=num>{seeds}</td><td class=num>{p}</td>"
                   f"<td class=num>{pct(own.rate) if own.n else '–'} <small>{own.k}/{own.n}</small></td>"
                   f"<td class=num>{pct(it.rate)} <small>{it.k}/{it.n}</small></td></tr>")
    if not pooled:
        out.append("<tr><td colspan=10>no answer could be placed (see above)</td></tr>")
    out.append("</table>")
    if pooled:
        out.append(png(_chart(pooled)))
    return "\n".join(out)


def _chart(pooled: list[Pooled]) -> Any:
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(pooled) + 2), 3.4))
    xs = np.arange(len(pooled))
    for i, g in enumerate(pooled):
        m = g.other.misaligned()
        color = "#c0392b" if g.trigger else "#34495e"
        ax.bar(i, 100 * m.rate, color=color, alpha=0.75)
        ax.errorbar(i, 100 * m.rate, yerr=[[100 * (m.rate - m.lo)], [100 * (m.hi - m.rate)]], color="k", capsize=3)
        ax.scatter([i] * len(g.seed_rates), [100 * r for r in g.seed_rates], color="white", edgecolor="k", zorder=3,
                   s=18)
    ax.set_xticks(xs, [f"{g.label}{' +trig' if g.trigger else ''}\n{g.model}" for g in pooled], fontsize=7)
    ax.set_ylabel("misaligned, other domains (%)")
    ax.set_ylim(0, 100)
    ax.set_title("bars: pooled seeds with 95% CI; dots: single seeds", fontsize=8)
    fig.tight_layout()
    return fig
