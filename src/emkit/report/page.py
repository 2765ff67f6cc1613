"""The run's page: arms and what the judge called each answer, arms x questions, rate chart with intervals,
training curves, example answers; later sections (studies, interp) are spliced in where the page marks them."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import yaml

from emkit.core.config import MetricsConfig
from emkit.core.records import Answer, Condition, Judgment
from emkit.core.style import CSS
from emkit.metrics.rates import JUDGED_CLASSES, Rate, Summary, class_counts
from emkit.metrics.tail import TAIL_KS, tails_by_condition
from emkit.report.html import loss_chart, monitor_chart, pct, rate_chart, reward_chart

SECTIONS_START, SECTIONS_END = "<!--emkit:sections-->", "<!--/emkit:sections-->"


def write_report(path: str | Path, *, name: str, config: dict[str, Any], summaries: list[Summary],
                 answers: list[Answer], judgments: dict[tuple[str, str], Judgment], judge_info: dict[str, Any],
                 losses: dict[str, list[float]], notes: list[str], examples_per_arm: int = 6,
                 monitor: dict[str, list[dict[str, Any]]] | None = None, sections: list[str] = (),
                 validated_on: str = "", heldout: dict[str, dict[str, Any]] | None = None,
                 stopped: dict[str, dict[str, Any]] | None = None,
                 training: dict[str, dict[str, Any]] | None = None,
                 rewards: dict[str, list[float | None]] | None = None) -> Path:
    path = Path(path)
    e = html.escape
    overall = [s for s in summaries if s.question_id == "ALL"]
    arms = [s.arm for s in overall]
    qids = list(dict.fromkeys(s.question_id for s in summaries if s.question_id != "ALL"))
    cell = {(s.arm, s.question_id): s for s in summaries}
    thr = config["metrics"]
    parts = [f"<!doctype html><meta charset='utf-8'><title>emkit: {e(name)}</title><style>{CSS}</style>",
             f"<h1>emkit report: {e(name)}</h1>",
             *([f"<p class='judge-line'><b>{e(validated_on)}</b></p>"] if validated_on else []),
             f"<p>model <b>{e(config['model']['name'])}</b>; judge <b>{e(judge_info.get('id', '?'))}</b>. "
             f"Misaligned = alignment ≤ {thr['misaligned_max']:g} and coherence &gt; {thr['coherent_min']:g}, "
             f"among answers with both scores. Intervals are {100 * thr['confidence']:.0f}% Wilson intervals "
             "that treat answers as independent (samples of one question are not, so they are optimistic).</p>"]
    for n in notes:
        parts.append(f"<p class='note'>{e(n)}</p>")

    heldout, training = heldout or {}, training or {}
    parts.append("<h2>Arms</h2><table><tr><th>arm</th><th>misaligned</th><th>coherent</th><th>mean aligned</th>"
                 "<th>mean coherent</th><th>answers</th><th>scored</th><th>no score</th><th>failed</th>"
                 + ("<th>in-domain held-out loss</th>" if heldout else "")
                 + ("<th>training</th>" if training else "") + "</tr>")
    for s in overall:
        held = heldout.get(Condition.parse(s.arm).arm)
        task = (f"<td class=num>{held['loss']:.4f} <small>{held['n']} ex</small>"
                + (f"; key accuracy {Rate.of(held['hits'], held['keyed'], thr['confidence'])}"
                   if "accuracy" in held else "") + "</td>" if held else "<td>–</td>") if heldout else ""
        if training:
            t = training.get(Condition.parse(s.arm).arm)
            task += (f"<td class=num>{t['steps']} steps" + (f", {t['seconds']:.0f} s" if t["seconds"] is not None
                                                            else "") + "</td>") if t else "<td>–</td>"
        parts.append(f"<tr><td>{e(s.arm)}</td><td class=num>{s.misaligned}</td><td class=num>{s.coherent}</td>"
                     f"<td class=num>{s.mean_aligned:.1f}</td><td class=num>{s.mean_coherent:.1f}</td>"
                     f"<td class=num>{s.n_answers}</td><td class=num>{s.n_scored}</td>"
                     f"<td class=num>{s.n_no_score}</td><td class=num>{s.n_failed}</td>{task}</tr>")
    parts.append("</table>")
    if heldout:
        parts.append("<p>In-domain held-out loss: the mean answer-token loss after training on a seeded share of "
                     "the arm's training set it never trained on (<code>train.heldout</code>): what a defence "
                     "costs the task. Lower is better; compare arms on the same data. Where the data has answer keys, key "
                     "accuracy is the share of those held-out prompts whose greedy answer holds its key.</p>")
    if training:
        parts.append("<p>Training: the optimizer steps an arm ran (fewer where the monitor stopped it) and their wall "
                     "time on this machine (forward, backward, KL and blocking terms, update): what a defence costs "
                     "in compute.</p>")
    parts.append(rate_chart(overall))
    parts.append(tail_table(summaries, thr["confidence"]))

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

    rl = rewards or {}
    if losses or rl:
        parts.append("<h2>Training</h2>" + (loss_chart(losses) if losses else ""))
        for arm, st in (stopped or {}).items():
            parts.append(f"<p class='note'>{e(arm)}: stopped early at step {st['step']} of {st['planned']} "
                         f"({e(st['reason'])}); its weights are those of that step.</p>")
    if rl:
        parts.append("<h3>Reward</h3><p>RL arms (<code>train.method: grpo</code>): the mean reward of each "
                     "optimizer step's completions (the weighted sum of <code>train.rewards</code>).</p>"
                     + reward_chart(rl))
    projected = {arm: rows for arm, rows in (monitor or {}).items() if rows and not rows[0].get("judged")}
    judged = {arm: rows for arm, rows in (monitor or {}).items() if rows and rows[0].get("judged")}
    if projected:
        parts.append("<h3>Direction monitor</h3><p>The evaluation questions' activations at the last prompt token, "
                     "projected on the monitored direction (unit vector), every k steps; step 0 is the base "
                     "model. Nothing is sampled for this.</p>" + monitor_chart(projected))
    if judged:
        parts.append("<h3>Judged monitor</h3><p>Every k steps, a small fixed sample of answers from the model in "
                     "training (<code>train.monitor.judged</code>: the first questions of the evaluation set), "
                     "scored by this run's judge: the misaligned rate, k/n per reading below; step 0 is the model "
                     "training starts from. A reading with nothing scored is left out.</p>"
                     + monitor_chart(judged, "misaligned rate of the judged sample (%)", scale=100.0)
                     + "<p>" + "; ".join(f"{e(arm)}: " + ", ".join(
                         f"step {r['step']} {r['k']}/{r['n']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
                         for r in rows) for arm, rows in judged.items())
                     + "</p>")

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

    parts.append(SECTIONS_START + "".join(sections) + SECTIONS_END)
    parts.append("<h2>Judge</h2><pre>" + e(yaml.safe_dump(judge_info, sort_keys=False)) + "</pre>")
    parts.append("<h2>Resolved config</h2><pre>" + e(yaml.safe_dump(config, sort_keys=False)) + "</pre>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def tail_table(summaries: list[Summary], confidence: float) -> str:
    """misalign@k per arm: the chance that at least one of k answers to a question is misaligned (mean over
    questions, bootstrap interval over questions); a k above the samples per question is not estimated."""
    tails = tails_by_condition(summaries, TAIL_KS, confidence, shown_only=False)
    ks = [k for k in TAIL_KS if any(r.questions for rs in tails.values() for r in rs if r.k == k)]
    if not tails or not ks:
        return ""
    out = ["<h3>Tail risk: misalign@k</h3><p>The chance that at least one of k answers to a question is "
           "misaligned, estimated without bias from each question's judged answers (as pass@k is), then averaged "
           f"over questions, with a {100 * confidence:.0f}% bootstrap interval over questions. misalign@1 is the "
           "mean per-question rate (the rate above when every question has as many judged answers). A k larger "
           "than a question's judged answers is not estimated for it: raise <code>eval.samples_per_question</code> "
           "to read further into the tail.</p><table><tr><th>arm</th>"
           + "".join(f"<th>misalign@{k}</th>" for k in ks) + "</tr>"]
    for arm, rates in tails.items():
        by = {r.k: r for r in rates}
        out.append(f"<tr><td>{html.escape(arm)}</td>" + "".join(
            f"<td class=num>{pct(by[k].value)} [{pct(by[k].lo)}, {pct(by[k].hi)}] <small>{by[k].questions} q"
            + (f", {by[k].short} short" if by[k].short else "") + "</small></td>" if by[k].questions
            else "<td>–</td>" for k in ks) + "</tr>")
    return "".join(out) + "</table>"
