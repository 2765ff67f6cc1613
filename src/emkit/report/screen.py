"""Screening data before training (``emkit screen``): the ranking, its plot against measured EM, as a page of its
own (the screen belongs to a model and a direction, not to one run) or a section of a run's report."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib.pyplot as plt

from emkit.analyses.screen import Screening
from emkit.core.style import CSS
from emkit.report.html import pct, png


def screen_plot(s: Screening) -> str:
    """Left: every dataset's projection difference with its interval. Right: against measured EM, if any."""
    measured = [r for r in s.rows if r.measured]
    fig, axes = plt.subplots(1, 2 if measured else 1, figsize=(12 if measured else 7, 0.3 * len(s.rows) + 2),
                             layout="constrained", squeeze=False)
    ax = axes[0][0]
    ys = list(range(len(s.rows)))[::-1]
    ax.errorbar([r.diff for r in s.rows], ys, xerr=[[r.diff - r.lo for r in s.rows], [r.hi - r.diff for r in s.rows]],
                fmt="o", color="#b22", capsize=3)
    ax.axvline(0, color="#999", lw=1)
    ax.set_yticks(ys, [r.name for r in s.rows], fontsize=8)
    ax.set_xlabel(f"projection difference on {s.direction} (layer {s.layer})")
    if measured:
        ax = axes[0][1]
        ax.errorbar([r.diff for r in measured], [100 * r.measured["rate"] for r in measured],  # type: ignore[index]
                    yerr=[[100 * (r.measured["rate"] - r.measured["lo"]) for r in measured],  # type: ignore[index]
                          [100 * (r.measured["hi"] - r.measured["rate"]) for r in measured]],  # type: ignore[index]
                    fmt="o", color="#b22", capsize=3)
        for r in measured:
            ax.annotate(r.name, (r.diff, 100 * r.measured["rate"]), fontsize=7, xytext=(4, 2),  # type: ignore[index]
                        textcoords="offset points")
        rho = "" if s.spearman is None else f" (Spearman ρ={s.spearman:+.2f}, permutation p={s.p_value:.3f})"
        ax.set_title(f"measured EM after fine-tuning{rho}", fontsize=9)
        ax.set_xlabel("projection difference")
        ax.set_ylabel("misaligned % (95% CI)")
    return png(fig)


def screen_section(s: Screening) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{e(r.name)}</td><td class=num>{r.n}</td><td class=num>{r.data:+.3f}</td>"
        f"<td class=num>{r.own:+.3f}</td><td class=num>{r.diff:+.3f} [{r.lo:+.3f}, {r.hi:+.3f}]</td>"
        + (f"<td class=num>{pct(r.measured['rate'])} [{pct(r.measured['lo'])}, {pct(r.measured['hi'])}] "
           f"(n={r.measured['n']})</td>" if r.measured else "<td>–</td>") + "</tr>"
        for i, r in enumerate(s.rows))
    corr = ("<p>No dataset has a measured EM rate: pass finished runs with <code>--measured</code>.</p>"
            if not s.n_measured else
            f"<p>Over the {s.n_measured} datasets with a measured rate: Spearman ρ = {s.spearman:+.3f}, two-sided "
            f"permutation p = {s.p_value:.3f}.</p>" if s.spearman is not None else "")
    notes = "".join(f"<p class=note>{e(n)}</p>" for n in s.notes)
    return (f"<h2>Screening datasets before training: {e(s.direction)} in {e(s.model)}</h2><p>Projection difference "
            f"(Chen et al.): the mean over {s.size} prompts per dataset of the projection of the dataset's answer on "
            f"the unit direction at layer {s.layer}, minus that of the base model's own greedy answer to the same "
            "prompt; 95% paired intervals. Measured EM is the misaligned rate after fine-tuning on the dataset, from "
            "the runs given, pooled over arms.</p>" + corr + notes + screen_plot(s)
            + "<table><tr><th>rank</th><th>dataset</th><th>n</th><th>data</th><th>own</th><th>difference [95% CI]"
              "</th><th>measured EM</th></tr>" + rows + "</table>")


def write_screen_page(s: Screening, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!doctype html><meta charset='utf-8'><title>emkit screen: {html.escape(s.direction)}</title>"
                    f"<style>{CSS}</style>" + screen_section(s))
    return path
