"""The HTML report: arms x questions tables, rate bars with confidence intervals, loss curves, examples."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from emkit.config import MetricsConfig  # noqa: E402
from emkit.metrics import JUDGED_CLASSES, Rate, Summary, class_counts  # noqa: E402
from emkit.records import Answer, Judgment  # noqa: E402

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em} td,th{border:1px solid #ccc;padding:4px 8px}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em} pre{white-space:pre-wrap}
.ans{border:1px solid #ddd;border-radius:6px;padding:.5em;margin:.5em 0;font-size:.9em}
.mis{border-color:#d33} small{color:#666}
"""


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
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of answers (95% Wilson CI)")
    ax.legend(loc="upper right", fontsize=8)
    return png(fig)


def loss_chart(losses: dict[str, list[float]]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    for arm, ls in losses.items():
        ax.plot(range(1, len(ls) + 1), ls, label=arm)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("answer-token loss")
    ax.legend(fontsize=8)
    return png(fig)


def monitor_chart(monitor: dict[str, list[dict[str, Any]]]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    for arm, rows in monitor.items():
        ax.plot([r["step"] for r in rows], [r["mean"] for r in rows], marker=".", label=arm)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("mean projection on direction")
    ax.legend(fontsize=8)
    return png(fig)


SECTIONS_START, SECTIONS_END = "<!--emkit:sections-->", "<!--/emkit:sections-->"


def _sections(run_dir: Path) -> list[str]:
    folder = run_dir / "sections"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.html"))] if folder.is_dir() else []


def remove_section(run_dir: str | Path, name: str) -> None:
    """Drop a section a later run no longer produces (so a report never shows a stale study)."""
    path = Path(run_dir) / "sections" / f"{name}.html"
    if path.is_file():
        path.unlink()
        _splice(Path(run_dir))


def add_section(run_dir: str | Path, name: str, fragment: str) -> Path:
    """Save an HTML fragment as a section of the run's report (``RUN/sections/NAME.html``) and splice every
    section into ``report.html`` in place, so later stages (interp, studies) add to the report without
    re-running the experiment; ``emkit run`` keeps them too."""
    run_dir = Path(run_dir)
    (run_dir / "sections").mkdir(parents=True, exist_ok=True)
    out = run_dir / "sections" / f"{name}.html"
    out.write_text(fragment, encoding="utf-8")
    _splice(run_dir)
    return out


def _splice(run_dir: Path) -> None:
    report = run_dir / "report.html"
    if report.is_file():
        text = report.read_text(encoding="utf-8")
        a, b = text.find(SECTIONS_START), text.find(SECTIONS_END)
        if not (a >= 0 and b > a):  # a report written before sections existed: they go at the end
            text, a = text + SECTIONS_START + SECTIONS_END, len(text)
            b = a + len(SECTIONS_START)
        report.write_text(text[: a + len(SECTIONS_START)] + "".join(_sections(run_dir)) + text[b:],
                          encoding="utf-8")


def write_report(path: str | Path, *, name: str, config: dict[str, Any], summaries: list[Summary],
                 answers: list[Answer], judgments: dict[tuple[str, str], Judgment], judge_info: dict[str, Any],
                 losses: dict[str, list[float]], notes: list[str], examples_per_arm: int = 6,
                 monitor: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    path = Path(path)
    e = html.escape
    overall = [s for s in summaries if s.question_id == "ALL"]
    arms = [s.arm for s in overall]
    qids = list(dict.fromkeys(s.question_id for s in summaries if s.question_id != "ALL"))
    cell = {(s.arm, s.question_id): s for s in summaries}
    thr = config["metrics"]
    parts = [f"<!doctype html><meta charset='utf-8'><title>emkit: {e(name)}</title><style>{CSS}</style>",
             f"<h1>emkit report: {e(name)}</h1>",
             f"<p>model <b>{e(config['model']['name'])}</b>; judge <b>{e(judge_info.get('id', '?'))}</b>. "
             f"Misaligned = alignment ≤ {thr['misaligned_max']:g} and coherence &gt; {thr['coherent_min']:g}, "
             f"among answers with both scores. Intervals are {100 * thr['confidence']:.0f}% Wilson intervals "
             "that treat answers as independent (samples of one question are not, so they are optimistic).</p>"]
    for n in notes:
        parts.append(f"<p class='note'>{e(n)}</p>")

    parts.append("<h2>Arms</h2><table><tr><th>arm</th><th>misaligned</th><th>coherent</th><th>mean aligned</th>"
                 "<th>mean coherent</th><th>answers</th><th>scored</th><th>no score</th><th>failed</th></tr>")
    for s in overall:
        parts.append(f"<tr><td>{e(s.arm)}</td><td class=num>{s.misaligned}</td><td class=num>{s.coherent}</td>"
                     f"<td class=num>{s.mean_aligned:.1f}</td><td class=num>{s.mean_coherent:.1f}</td>"
                     f"<td class=num>{s.n_answers}</td><td class=num>{s.n_scored}</td>"
                     f"<td class=num>{s.n_no_score}</td><td class=num>{s.n_failed}</td></tr>")
    parts.append("</table>" + rate_chart(overall))

    mcfg = MetricsConfig.model_validate(thr)
    counts = class_counts(answers, judgments, mcfg)
    parts.append("<h3>What the judge called each answer</h3><table><tr><th>arm</th>"
                 + "".join(f"<th>{c}</th>" for c in JUDGED_CLASSES) + "<th>refused (95% CI)</th></tr>")
    for arm in arms:
        c = counts.get(arm, {})
        judged = sum(c.values()) - c.get("failed", 0)
        refused = Rate.of(c.get("refusal", 0), judged, mcfg.confidence)
        parts.append(f"<tr><td>{e(arm)}</td>" + "".join(f"<td class=num>{c.get(k, 0)}</td>" for k in JUDGED_CLASSES)
                     + f"<td class=num>{refused}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Misaligned rate by question</h2><table><tr><th>question</th>"
                 + "".join(f"<th>{e(a)}</th>" for a in arms) + "</tr>")
    for q in qids:
        row = "".join(
            f"<td class=num>{pct(cell[(a, q)].misaligned.rate)} <small>{cell[(a, q)].misaligned.k}/"
            f"{cell[(a, q)].misaligned.n}</small></td>" if (a, q) in cell else "<td>–</td>" for a in arms)
        parts.append(f"<tr><td>{e(q)}</td>{row}</tr>")
    parts.append("</table>")

    if losses:
        parts.append("<h2>Training</h2>" + loss_chart(losses))
    if monitor:
        parts.append("<h3>Direction monitor</h3><p>The evaluation questions' activations at the last prompt token, "
                     "projected on the monitored direction (unit vector), every k steps; step 0 is the base "
                     "model. Nothing is sampled for this.</p>" + monitor_chart(monitor))

    parts.append("<h2>Example answers</h2><p>Per arm: the lowest-alignment answers first, then a few others.</p>")

    def score(a: Answer, m: str) -> float | None:
        j = judgments.get((a.judge_key, m))
        return j.score if j is not None and j.status == "ok" else None

    for arm in arms:
        mine = [a for a in answers if a.arm == arm]
        ranked = sorted(mine, key=lambda a: (score(a, "aligned") is None, score(a, "aligned") or 0.0))
        pick = ranked[: examples_per_arm // 2] + mine[:: max(1, len(mine) // max(1, examples_per_arm // 2))][
            : examples_per_arm - examples_per_arm // 2]
        parts.append(f"<h3>{e(arm)}</h3>")
        for a in dict.fromkeys(pick):
            al, co = score(a, "aligned"), score(a, "coherent")
            mis = al is not None and co is not None and al <= thr["misaligned_max"] and co > thr["coherent_min"]
            fmt = lambda x: "–" if x is None else f"{x:.0f}"  # noqa: E731
            sys_line = f"<br><small>system: {e(a.system)}</small>" if a.system else ""
            parts.append(f"<div class='ans{' mis' if mis else ''}'><small>{e(a.question_id)} #{a.sample_idx} · "
                         f"aligned {fmt(al)} · coherent {fmt(co)}</small>{sys_line}<br><b>Q:</b> {e(a.question)}"
                         f"<pre>{e(a.text)}</pre></div>")

    import yaml

    parts.append(SECTIONS_START + "".join(_sections(path.parent)) + SECTIONS_END)
    parts.append("<h2>Judge</h2><pre>" + e(yaml.safe_dump(judge_info, sort_keys=False)) + "</pre>")
    parts.append("<h2>Resolved config</h2><pre>" + e(yaml.safe_dump(config, sort_keys=False)) + "</pre>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
