"""What every section draws with: figures as inline PNG, percentages, the common charts."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from emkit.metrics.rates import Summary  # noqa: E402


def png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def rate_chart(overall: list[Summary]) -> str:
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(overall) + 2), 3.2))
    xs = range(len(overall))
    for off, name, color in ((-0.2, "misaligned", "#d33"), (0.2, "coherent", "#38c")):
        rates = [getattr(s, name) for s in overall]
        y = [0 if math.isnan(r.rate) else r.rate for r in rates]
        err = [[max(0, v - (0 if math.isnan(r.lo) else r.lo)) for v, r in zip(y, rates, strict=True)],
               [max(0, (0 if math.isnan(r.hi) else r.hi) - v) for v, r in zip(y, rates, strict=True)]]
        ax.bar([x + off for x in xs], y, width=0.38, yerr=err, capsize=3, color=color, label=f"{name} rate")
    ax.set_xticks(list(xs), [f"{s.arm}\n(n={s.misaligned.n})" for s in overall])
    ax.set_ylim(0, 1.04)  # room for an interval's cap at 100%
    ax.set_ylabel("share of answers (95% Wilson CI)")
    # above the axes: inside, it covers the tallest bars (a coherent rate near 100% is the usual case)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    return png(fig)


def loss_chart(losses: dict[str, list[float]]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    for arm, ls in losses.items():
        ax.plot(range(1, len(ls) + 1), ls, label=arm)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("answer-token loss")
    ax.legend(fontsize=8)
    return png(fig)


def reward_chart(rewards: dict[str, list[float | None]]) -> str:
    """RL arms' mean reward per optimizer step (a step without a reward is a gap)."""
    fig, ax = plt.subplots(figsize=(6, 3))
    for arm, rs in rewards.items():
        ax.plot(range(1, len(rs) + 1), [math.nan if r is None else r for r in rs], label=arm)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("mean reward")
    ax.legend(fontsize=8)
    return png(fig)


def monitor_chart(monitor: dict[str, list[dict[str, Any]]], ylabel: str = "mean projection on direction",
                  scale: float = 1.0) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    for arm, rows in monitor.items():
        kept = [r for r in rows if r["mean"] is not None]
        ax.plot([r["step"] for r in kept], [scale * r["mean"] for r in kept], marker=".", label=arm)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return png(fig)


