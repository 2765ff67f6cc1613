"""The interp sections of a run's report: the chain's results, sweeps, cosine matrices, as tables and plots."""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from emkit.analyses.chain import ChainResult
from emkit.analyses.interventions import InterventionResult
from emkit.analyses.matrix import DirectionMatrix
from emkit.interp.directions import CosineMatrix
from emkit.metrics.rates import Rate
from emkit.report.html import pct, png


def sweep_table(res: InterventionResult) -> str:
    e = html.escape
    rows = ["<table><tr><th>condition</th><th>misaligned</th><th>95% CI</th><th>coherent</th><th>n scored</th>"
            "<th>mean aligned</th></tr>"]
    for r in res.rows:
        m, s = r.summary.misaligned, r.summary
        rows.append(f"<tr><td>{e(r.label)}</td><td class=num>{pct(m.rate)} <small>{m.k}/{m.n}</small></td>"
                    f"<td class=num>{pct(m.lo)}–{pct(m.hi)}</td><td class=num>{pct(s.coherent.rate)}</td>"
                    f"<td class=num>{m.n}</td><td class=num>{s.mean_aligned:.1f}</td></tr>")
    return "".join(rows) + "</table>"


def sweep_examples(res: InterventionResult, per_condition: int = 2) -> str:
    """A few answers per condition, lowest alignment first: a judge can score broken text as coherent, and
    only reading the answers shows it."""
    e = html.escape
    out = ["<details><summary>example answers per condition</summary>"]
    for r in res.rows:
        mine = res.answers_of(r)

        def aligned(a: Any) -> float:
            j = res.judgments.get((a.judge_key, "aligned"))
            return j.score if j is not None and j.score is not None else 101.0
        for a in sorted(mine, key=aligned)[:per_condition]:
            score = aligned(a)
            out.append(f"<div class='ans'><small>{e(r.label)} · {e(a.question_id)} · aligned "
                       f"{'–' if score > 100 else f'{score:.0f}'}</small><pre>{e(a.text[:400])}</pre></div>")
    return "".join(out) + "</details>"


def _err(rates: Sequence[Rate]) -> tuple[list[float], list[list[float]]]:
    """Bar heights and error bars of rates (an empty rate draws at 0 with no bar)."""
    y = [0.0 if math.isnan(r.rate) else r.rate for r in rates]
    lo = [max(0.0, v - (v if math.isnan(r.lo) else r.lo)) for v, r in zip(y, rates, strict=True)]
    hi = [max(0.0, (v if math.isnan(r.hi) else r.hi) - v) for v, r in zip(y, rates, strict=True)]
    return y, [lo, hi]


def steering_plot(res: InterventionResult) -> str:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    none = [r for r in res.rows if r.intervention.kind == "none"]
    for kind, color in (("steer", "#d33"), ("random", "#888")):
        rows = none + sorted((r for r in res.rows if r.intervention.kind == kind), key=lambda r: r.intervention.scale)
        xs = [r.intervention.scale for r in rows]
        for ax, key in zip(axes, ("misaligned", "coherent"), strict=True):
            y, err = _err([getattr(r.summary, key) for r in rows])
            ax.errorbar(xs, y, yerr=err if key == "misaligned" else None, marker="o", capsize=3, color=color,
                        label="direction" if kind == "steer" else "random, same norm")
    for ax, key in zip(axes, ("misaligned rate (95% CI)", "coherent rate"), strict=True):
        ax.set_xlabel("scale (1 = the mean difference itself)")
        ax.set_ylabel(key)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    fig.suptitle(f"steering {res.arm}", fontsize=10)
    return png(fig)


def bars(res: InterventionResult) -> str:
    fig, ax = plt.subplots(figsize=(max(4, 1.5 * len(res.rows) + 1), 3))
    y, err = _err([r.summary.misaligned for r in res.rows])
    ax.bar(range(len(y)), y, yerr=err, capsize=3, color="#d33")
    ax.set_xticks(range(len(y)), [r.label.replace(" (", "\n(") for r in res.rows], fontsize=7)
    ax.set_ylabel("misaligned rate (95% CI)")
    ax.set_ylim(0, 1)
    return png(fig)


def separation_plot(result: ChainResult) -> str:
    fig, ax1 = plt.subplots(figsize=(7, 3))
    layers = result.mean_diff.direction.layers
    ax1.plot(layers, result.mean_diff.separation, marker=".", label="fine-tuned model reads")
    if result.base_reader:
        ax1.plot(layers, result.base_reader.separation, marker=".", label="base model reads the same texts")
    ax1.axvline(result.layer, color="#aaa", ls="--")
    ax1.set_xlabel("layer")
    ax1.set_ylabel("held-out separation d'")
    ax2 = ax1.twinx()
    ax2.plot(layers, result.mean_diff.direction.vectors.norm(dim=-1).tolist(), color="#999", lw=1, ls=":")
    ax2.set_ylabel("|mean diff| (dotted)")
    ax1.legend(fontsize=8)
    return png(fig)


def _matrix_panel(fig: Any, ax: Any, cm: CosineMatrix, li: int, title: str) -> None:
    """The matrix at layer index ``li``, every cell annotated (grey inside the null band)."""
    mat = cm.cos[li]
    im = ax.imshow(mat, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(cm.names)), cm.names, rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(len(cm.names)), cm.names, fontsize=7)
    for i in range(len(cm.names)):
        for j in range(len(cm.names)):
            if not np.isnan(mat[i, j]):
                ax.text(j, i, f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="#000" if abs(mat[i, j]) > cm.null or i == j else "#888")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046)


def cosine_plots(cm: CosineMatrix, layer: int | None) -> str:
    """The matrix at one layer, and the first direction's cosine with each other one across layers."""
    li = cm.layers.index(layer) if layer in cm.layers else len(cm.layers) // 2
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1.4]}, layout="constrained")
    _matrix_panel(fig, axes[0], cm, li, f"cosine at layer {cm.layers[li]}")
    first = cm.names[0]
    for j in range(1, len(cm.names)):
        ys = cm.cos[:, 0, j]
        axes[1].plot(cm.layers, ys, marker=".", label=f"{first} vs {cm.names[j]}")
    axes[1].axhspan(-cm.null, cm.null, color="#ddd", label=f"random null (95%, d={cm.d_model})")
    axes[1].set_xlabel("layer")
    axes[1].set_ylabel("cosine")
    axes[1].set_ylim(-1, 1)
    axes[1].legend(fontsize=7)
    return png(fig)


def phase_plot(result: ChainResult) -> str:
    pc = result.phases
    assert pc is not None
    fig, ax1 = plt.subplots(figsize=(7, 3.2))
    y, err = _err([r.misaligned for r in pc.rows])
    ax1.errorbar(pc.steps, y, yerr=err, marker="o", capsize=3, color="#d33", label="misaligned rate")
    if pc.onset is not None and pc.onset.step is not None:
        o = pc.onset
        ax1.axvspan(o.lo, o.hi if o.hi is not None else pc.steps[-1], color="#fbb", alpha=0.35, lw=0)
        ax1.axvline(o.step, color="#d33", ls=":", lw=1, label=f"onset: step {o.step} (bootstrap interval shaded)")
    ax1.set_xlabel("training step (0 = base)")
    ax1.set_ylabel("misaligned rate (95% CI)")
    ax1.set_ylim(0, 1)
    ax2 = ax1.twinx()
    top = pc.largest(3)
    for t in top:
        ax2.plot(t.steps, t.cos_prev, lw=1, label=f"B L{t.layer}: cos to previous ckpt")
        ax2.plot(t.steps, t.cos_final, lw=1, ls="--", label=f"B L{t.layer}: cos to final")
    ax2.set_ylabel("cosine")
    ax2.set_ylim(-1.05, 1.05)
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, fontsize=6, loc="lower right")
    return png(fig)


def trajectory_plot(result: ChainResult) -> str:
    pc = result.phases
    assert pc is not None
    top = pc.largest(3)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    for t in top:
        axes[0].plot(t.steps, t.norms, marker=".", label=f"L{t.layer}")
        xy = np.array(t.pca)
        if xy.shape[1] == 2:
            axes[1].plot(xy[:, 0], xy[:, 1], marker=".", label=f"L{t.layer} ({100 * sum(t.pca_var):.0f}% var)")
            axes[1].annotate(str(t.steps[-1]), xy[-1], fontsize=7)
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("|written direction|")
    axes[1].set_xlabel("PC 1")
    axes[1].set_ylabel("PC 2")
    axes[1].set_title("path of B over checkpoints", fontsize=9)
    for ax in axes:
        ax.legend(fontsize=7)
    return png(fig)


def interp_section(result: ChainResult, model: str) -> str:
    e = html.escape
    md = result.mean_diff
    parts = ["<h2>Interp: where EM lives</h2>",
             f"<p>Mean-diff direction (Soligo et al.) of arm <b>{e(result.arm)}</b>: answer-token activations of "
             f"misaligned minus aligned answers, {md.n_per_class} per class (balanced), read by the fine-tuned "
             f"model{' and by the base model' if result.base_reader else ''}. Steering and ablation at layer "
             f"<b>{result.layer}</b> (best held-out separation, or as asked). Every steering scale has a random "
             "control of the same norm. All rates are the run's judge's, with 95% Wilson intervals.</p>"]
    if model == "smollm2-135m-instruct":
        parts.append("<p class='note'>SmolLM2-135M (4-bit weights) is a pipeline test: with a few dozen answers "
                     "per class and a judge that reacts to style, the direction is noisy and effects are small. "
                     "Read the random controls before the direction's curve, and read the example answers: large "
                     "scales break the model, and the offline judge can score broken text as coherent and "
                     "misaligned.</p>")
    parts.append("<h3>Separation per layer</h3>" + separation_plot(result))
    if result.steering:
        parts.append(f"<h3>Steering {e(result.steering.arm)}</h3>" + steering_plot(result.steering)
                     + sweep_table(result.steering) + sweep_examples(result.steering))
    if result.ablation:
        parts.append(f"<h3>Ablation in {e(result.ablation.arm)}</h3>" + bars(result.ablation)
                     + sweep_table(result.ablation) + sweep_examples(result.ablation))
    cm = result.cosines
    parts.append(f"<h3>Cosine matrix</h3><p>|cos| below {cm.null:.3f} is what two random directions in "
                 f"{cm.d_model} dimensions reach 95% of the time. A LoRA B vector's sign is only defined together "
                 "with A's, so read its cosines up to sign.</p>" + cosine_plots(result.cosines, result.layer))
    li = cm.layers.index(result.layer) if result.layer in cm.layers else None
    if li is not None:
        parts.append("<table><tr><th>a</th><th>b</th><th>cos at layer " + str(result.layer) + "</th><th>beyond "
                     "null</th></tr>" + "".join(
                         f"<tr><td>{e(p['a'])}</td><td>{e(p['b'])}</td><td class=num>{p['cos']:+.3f}</td>"
                         f"<td>{'yes' if p['beyond_null'] else 'no'}</td></tr>"
                         for p in cm.pairs() if p["layer"] == result.layer) + "</table>")
    if result.phases:
        parts.append("<h3>Phase curve</h3><p>Misaligned rate per checkpoint on a small fixed sample, under the "
                     "rotation of the largest B vectors (cosine to the previous checkpoint and to the final "
                     "value). <b>Onset</b>: the first checkpoint whose rate is above the starting model's (the "
                     "Newcombe interval of the difference above zero): "
                     + e(str(result.phases.onset) if result.phases.onset else "not computed") + ".</p>"
                     + phase_plot(result) + trajectory_plot(result))
    return "\n".join(parts)


def cosine_section(cm: CosineMatrix, layer: int | None, title: str = "Direction cosines") -> str:
    """A cosine matrix as a report section: the plots and, at the chosen layer, every pair against the null."""
    e = html.escape
    li = cm.layers.index(layer) if layer in cm.layers else len(cm.layers) // 2
    rows = "".join(f"<tr><td>{e(p['a'])}</td><td>{e(p['b'])}</td><td class=num>{p['cos']:+.3f}</td>"
                   f"<td>{'yes' if p['beyond_null'] else 'no'}</td></tr>"
                   for p in cm.pairs() if p["layer"] == cm.layers[li])
    return (f"<h2>{e(title)}</h2><p>Cosine between directions per layer; |cos| &lt; {cm.null:.3f} is what two "
            f"random directions in d={cm.d_model} give (95%).</p>" + cosine_plots(cm, layer)
            + f"<table><tr><th>a</th><th>b</th><th>cosine at layer {cm.layers[li]}</th><th>beyond null</th></tr>"
            + rows + "</table>")


def matrix_plots(dm: DirectionMatrix) -> str:
    """Left: the full matrix at the focus layer. Right: every pair that shares more than one layer, layer by
    layer, cells inside the null band hatched."""
    cm = dm.cosines
    li = cm.layers.index(dm.focus_layer)
    pairs = [(i, j) for i in range(len(cm.names)) for j in range(i + 1, len(cm.names))
             if int((~np.isnan(cm.cos[:, i, j])).sum()) > 1]
    fig, axes = plt.subplots(1, 2, figsize=(14, max(4.0, 0.3 * len(pairs) + 2)),
                             gridspec_kw={"width_ratios": [1, 1.8]}, layout="constrained")
    _matrix_panel(fig, axes[0], cm, li, f"layer {dm.focus_layer} (grey: inside the null, |cos| < {cm.null:.3f})")
    if pairs:
        grid = np.array([[cm.cos[k, i, j] for k in range(len(cm.layers))] for i, j in pairs])
        axes[1].imshow(grid, vmin=-1, vmax=1, cmap="RdBu_r", aspect="auto")
        for r, c in zip(*np.nonzero(np.abs(grid) < cm.null), strict=True):
            axes[1].add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#aaa", lw=0))
        axes[1].set_yticks(range(len(pairs)), [f"{cm.names[i]} vs {cm.names[j]}" for i, j in pairs], fontsize=7)
        step = max(1, len(cm.layers) // 16)
        axes[1].set_xticks(range(0, len(cm.layers), step), [str(x) for x in cm.layers[::step]], fontsize=7)
        axes[1].set_xlabel("layer")
        axes[1].set_title("per layer (hatched: inside the null)", fontsize=9)
    else:
        axes[1].axis("off")
    return png(fig)


def matrix_section(dm: DirectionMatrix) -> str:
    """``emkit directions matrix``: where each direction came from, the plots, and two tables (every pair at the
    focus layer; every multi-layer pair per layer)."""
    e = html.escape
    cm = dm.cosines
    pairs = cm.pairs()
    src = "".join(f"<li><b>{e(n)}</b>: {e(s)}</li>" for n, s in dm.sources.items())
    skip = "".join(f"<li>{e(s)}</li>" for s in dm.skipped)
    at_focus = "".join(f"<tr><td>{e(p['a'])}</td><td>{e(p['b'])}</td><td class=num>{p['cos']:+.3f}</td>"
                       f"<td>{'yes' if p['beyond_null'] else 'no'}</td></tr>"
                       for p in pairs if p["layer"] == dm.focus_layer)
    layers_of = Counter((p["a"], p["b"]) for p in pairs)  # in first-seen order
    multi = [ab for ab, n in layers_of.items() if n > 1]
    cell = {(p["layer"], p["a"], p["b"]): p for p in pairs}

    def fmt(p: dict[str, Any] | None) -> str:
        if p is None:
            return "<td></td>"
        v = f"{p['cos']:+.2f}"
        return f"<td class=num>{'<b>' + v + '</b>' if p['beyond_null'] else v}</td>"

    per_layer = ("<table><tr><th>layer</th>" + "".join(f"<th>{e(a)} vs {e(b)}</th>" for a, b in multi) + "</tr>"
                 + "".join(f"<tr><td>{layer}</td>" + "".join(fmt(cell.get((layer, a, b))) for a, b in multi)
                           + "</tr>" for layer in cm.layers) + "</table>") if multi else ""
    return (f"<h2>Misalignment directions compared: {e(dm.arm)}</h2><p>Cosine between the directions each method "
            f"reads, per layer. |cos| &lt; {cm.null:.3f} is what two random directions in d={cm.d_model} give "
            "(95%); bold in the per-layer table is beyond it. A LoRA B vector's sign is arbitrary: read its cosines "
            "up to sign.</p><ul>" + src + "</ul>"
            + (f"<p>Not compared:</p><ul>{skip}</ul>" if skip else "") + matrix_plots(dm)
            + f"<table><tr><th>a</th><th>b</th><th>cosine at layer {dm.focus_layer}</th><th>beyond null</th></tr>"
            + at_focus + "</table>" + per_layer)
