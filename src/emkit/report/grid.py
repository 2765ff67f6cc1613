"""A sweep's page (``emkit sweep``): one table and one plot across the grid, each point linking to its report."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from emkit.core.style import CSS
from emkit.pipeline.grid import SweepResult
from emkit.report.html import pct, png


def sweep_plot(frame: pd.DataFrame, keys: list[str]) -> str:
    """Misaligned rate with its 95% interval for every (point, arm), points along x, arms side by side."""
    labels = [", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, row, strict=True))
              for row in frame[keys].drop_duplicates().itertuples(index=False)]
    arms = list(dict.fromkeys(frame["arm"]))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) * len(arms) ** 0.5 + 2), 3.6), layout="constrained")
    width = 0.8 / len(arms)
    for j, arm in enumerate(arms):
        sub = frame[frame["arm"] == arm]
        xs = [i + (j - (len(arms) - 1) / 2) * width for i in range(len(sub))]
        ax.errorbar(xs, 100 * sub["misaligned"], yerr=[100 * (sub["misaligned"] - sub["misaligned_lo"]),
                                                        100 * (sub["misaligned_hi"] - sub["misaligned"])],
                    fmt="o", capsize=3, label=arm)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("misaligned % (95% Wilson CI)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return png(fig)


def write_sweep_page(res: SweepResult, path: str | Path) -> Path:
    e = html.escape
    frame = res.frame()
    keys = list(res.sweep.grid)
    head = "".join(f"<th>{e(k)}</th>" for k in keys)
    rows = "".join(
        f"<tr><td><a href='../{e(r.point)}/report.html'>{e(r.point)}</a></td>"
        + "".join(f"<td>{e(str(r[k]))}</td>" for k in keys)
        + f"<td>{e(r.arm)}</td><td class=num>{pct(r.misaligned)} [{pct(r.misaligned_lo)}, {pct(r.misaligned_hi)}]"
        f"</td><td class=num>{r.n}</td><td class=num>{pct(r.coherent)}</td></tr>"
        for _, r in frame.iterrows())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<!doctype html><meta charset='utf-8'><title>emkit sweep {e(res.sweep.name)}</title><style>{CSS}</style>"
        f"<h1>Sweep {e(res.sweep.name)}</h1><p>{len(res.points)} points of <code>{e(res.sweep.experiment)}</code> "
        f"over {', '.join(f'<code>{e(k)}</code>' for k in keys)}; the misaligned rate of each arm with n and its 95% "
        "Wilson interval (answers of one question are not independent, so the intervals are optimistic).</p>"
        + sweep_plot(frame, keys)
        + f"<table><tr><th>point</th>{head}<th>arm</th><th>misaligned [95% CI]</th><th>n</th><th>coherent</th></tr>"
        + rows + "</table>")
    return path
