"""The view's pages as self-contained HTML (style, data and script inline; no file or request leaves the
page), so the server and ``--export`` hand out the same bytes: a page works from a server or opened as a file.

Page types: the index (every run with its conditions' rates), a run (its conditions under every judge, then
everything its report has: studies, interp, plots), a comparison (any conditions across runs, rates with
intervals, per question) and a run's answers (filters, judges side by side, disagreements first). Filtering and
selection run in the browser over data embedded in the page; every number is computed here, in Python."""

from __future__ import annotations

import html
import json
import math
from typing import Any, NamedTuple
from urllib.parse import quote

from emkit.core.records import VERDICTS, Condition, HumanLabel
from emkit.core.style import CSS
from emkit.metrics.rates import Rate, Summary
from emkit.metrics.tail import TailRate
from emkit.view.data import JudgedAnswer, RunView, short_judge

e = html.escape

VIEW_CSS = CSS + """
nav{display:flex;gap:1.2em;align-items:baseline;border-bottom:1px solid #ddd;padding-bottom:.5em;margin-bottom:1em}
nav b{font-size:1.1em} nav a{text-decoration:none}
.bar{position:relative;height:14px;width:260px;background:#f4f4f4;border:1px solid #ddd}
.bar .fill{position:absolute;top:0;bottom:0;left:0;background:#f2a3a3}
.bar .ci{position:absolute;top:6px;height:2px;background:#333}
.bar .pt{position:absolute;top:2px;width:2px;height:10px;background:#a00}
.controls{display:flex;flex-wrap:wrap;gap:.6em 1em;background:#f7f7f7;padding:.6em;border-radius:6px}
.controls label{font-size:.85em} .controls input[type=number]{width:4.5em}
tr.dis td{background:#fff4e0} td.txt{max-width:520px;white-space:pre-wrap;font-size:.85em}
.cls-misaligned{color:#c00;font-weight:bold} .cls-failed{color:#777;font-style:italic}
.picker{columns:2;font-size:.85em} .picker label{display:block}
.report{border-top:3px solid #ddd;margin-top:2em;padding-top:1em}
.gone{color:#a00}
.item{border:1px solid #ddd;border-radius:6px;padding:.2em 1em;margin-top:1em;max-width:900px}
p.answer{background:#fafafa;padding:.5em} .keys button{margin-right:.4em} kbd{font-weight:bold}
"""


def rate_text(r: Rate) -> str:
    return "–" if not r.n else f"{100 * r.rate:.1f}% [{100 * r.lo:.1f}, {100 * r.hi:.1f}]"


def rate_cell(r: Rate, **data: str) -> str:
    attrs = "".join(f" data-{k}='{e(v)}'" for k, v in data.items())
    return (f"<td class=num data-k={r.k} data-n={r.n}{attrs}>{rate_text(r)} "
            f"<small>{r.k}/{r.n}</small></td>")


def tail_cell(rates: list[TailRate] | None) -> str:
    """misalign@k under the run's judge, k by k (the interval and question count in the tooltip)."""
    if not rates:
        return "<td>–</td>"
    shown = [r for r in rates if r.questions]
    tip = "; ".join(f"misalign{r} over {r.questions} questions" + (f" ({r.short} with fewer answers)" if r.short
                                                                   else "") for r in shown)
    text = " · ".join(f"@{r.k} {100 * r.value:.0f}%" for r in shown)
    return f"<td class='num tail' title='{e(tip)}'>{text}</td>"


def ci_bar(r: Rate) -> str:
    """A rate and its interval on a 0-100% scale, drawn in CSS (no charting code needed for one bar)."""
    if not r.n:
        return "<div class=bar></div>"
    lo, hi = (0.0 if math.isnan(x) else x for x in (r.lo, r.hi))
    return (f"<div class=bar title='{rate_text(r)} (n={r.n})'><div class=fill style='width:{100 * r.rate:.2f}%'>"
            f"</div><div class=ci style='left:{100 * lo:.2f}%;width:{100 * (hi - lo):.2f}%'></div>"
            f"<div class=pt style='left:calc({100 * r.rate:.2f}% - 1px)'></div></div>")


def page(title: str, body: str, script: str = "") -> str:
    nav = ("<nav><b>emkit view</b><a href='index.html'>runs</a><a href='compare.html'>compare</a></nav>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel=icon href='data:,'><title>{e(title)}</title>"
            f"<style>{VIEW_CSS}</style></head><body>{nav}{body}"
            + (f"<script>{script}</script>" if script else "") + "</body></html>")


def json_block(id_: str, data: Any) -> str:
    """Data for a page's script; '</' is escaped so no string in it can close the script element."""
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f"<script type='application/json' id='{id_}'>{text}</script>"


def judge_note(run: RunView) -> str:
    if not run.judges:
        return "<p class=note>No judge has scored this run's answers yet.</p>"
    names = ", ".join(f"<b>{e(short_judge(j))}</b>" + (" (the run's judge)" if j == run.judge else "")
                      for j in run.judges)
    return (f"<p>judges: {names}. Misaligned = alignment ≤ {run.metrics.misaligned_max:g} and coherence &gt; "
            f"{run.metrics.coherent_min:g}, among answers with both scores; "
            f"{100 * run.metrics.confidence:.0f}% Wilson intervals treat answers as independent.</p>")


# ------------------------------------------------------------------------------------------------ index
def index_page(runs: list[RunView], where: str) -> str:
    measures = list(dict.fromkeys(h.measure for run in runs for h in run.headlines))
    parts = [f"<h1>Runs in {e(where)}</h1>"]
    if not runs:
        parts.append("<p>No run with answers in this store yet.</p>")
    parts.append("<table id=runs><tr><th>run</th><th>model</th><th>judges</th><th>answers</th>"
                 "<th>condition</th><th>misaligned (n)</th><th></th><th>misalign@k</th><th>replicates</th>"
                 + "".join(f"<th>{e(m)}</th>" for m in measures) + "</tr>")
    for run in runs:
        rows = _pooled_rows(run)
        span = f" rowspan={max(1, len(rows))}"
        gone = ("" if run.folder_exists else f"<br><small class=gone>no folder: {e(str(run.run_dir))} is gone; "
                f"<code>{e(run.rm_hint)}</code> removes its rows</small>")
        unread = "".join(f"<br><small class=note>{e(n)}</small>" for n in run.notes)
        head = (f"<td{span}><a href='run-{run.slug}.html'>{e(run.name)}</a>{gone}{unread}</td>"
                f"<td{span}>{e(run.model)}</td>"
                f"<td{span}>{len(run.judges)}</td><td{span} class=num>{len(run.answers)}</td>")
        if not rows:
            parts.append(f"<tr>{head}<td colspan={5 + len(measures)}>not judged</td></tr>")
        for i, (label, arms, rates, heads) in enumerate(rows):  # the run's own cells open its first row
            r = rates.get(run.judge)
            parts.append(f"<tr data-run='{e(run.name)}'>{head if i == 0 else ''}<td>{e(label)}</td>"
                         + (rate_cell(r, run=run.name, cond=label) + f"<td>{ci_bar(r)}</td>" if r is not None
                            else "<td>–</td><td></td>")
                         + tail_cell(run.tails.get(run.judge, {}).get(label))
                         + f"<td>{e(', '.join(arms)) if len(arms) > 1 else ''}</td>"
                         + "".join(rate_cell(heads[m], run=run.name, cond=label, measure=m) if m in heads
                                   else "<td>–</td>" for m in measures) + "</tr>")
    parts.append("</table><p><small>Rates under each run's own judge, replicate arms (seeds) pooled as the report "
                 "pools them; misalign@k: the chance that a question is answered misaligned at least once in k "
                 "answers (unbiased per question, mean over questions; a replicate's answers count as more answers "
                 "to the same question; hover for intervals); beside them a world's own headline measure where "
                 "the run has one (the toy world's exact misaligned rate in the domains an arm was not fine-tuned on). A run page shows every judge, "
                 "each replicate, and the checkpoints and interventions sampled on the run.</small></p>")
    return page("emkit view: runs", "".join(parts))


def _pooled_rows(run: RunView) -> list[tuple[str, list[str], dict[str, Rate], dict[str, Rate]]]:
    """(label, labels pooled, judge -> misaligned, measure -> headline rate) per condition, replicates pooled
    (a run whose experiment cannot be read, an older emkit's, shows its conditions as they were sampled)."""
    heads: dict[str, dict[str, Rate]] = {}
    members: dict[str, list[str]] = {}
    for h in run.headlines:
        heads.setdefault(h.condition, {})[h.measure] = h.rate
        members.setdefault(h.condition, list(h.arms))
    out = []
    for label in dict.fromkeys([*run.pooled, *heads]):
        rates = {j: run.pooled_rates[j][label] for j in run.judges if label in run.pooled_rates.get(j, {})}
        if rates or label in heads:
            out.append((label, run.pooled.get(label) or members.get(label, [label]), rates, heads.get(label, {})))
    return out


# -------------------------------------------------------------------------------------------------- run
def run_page(run: RunView, report_body: str | None) -> str:
    parts = [f"<h1>{e(run.name)}</h1><p>model <b>{e(run.model)}</b> · {len(run.answers)} answers · "
             f"<a href='answers-{run.slug}.html'>browse the answers</a> · "
             f"<a href='compare.html#sel={e(','.join(entry_id(run, c.label, run.judge) for c in run.conditions))}'>"
             "compare its conditions</a></p>", judge_note(run)]
    parts.append("<h2>Conditions</h2><table id=conditions><tr><th>condition</th><th>arm</th><th>variant</th>"
                 "<th>step</th><th>intervention</th><th>answers</th>"
                 + "".join(f"<th>misaligned · {e(short_judge(j))}</th>" for j in run.judges)
                 + "<th>coherent</th><th>misalign@k</th><th>refused or code</th><th></th></tr>")
    by = {j: {s.arm: s for s in run.overall(j)} for j in run.judges}
    for c in run.conditions:
        mine = run.by_condition[c.label]
        own = by.get(run.judge, {}).get(c.label)
        declined = sum(a.verdicts.get(run.judge, (None, None, ""))[2] in ("refusal", "code") for a in mine)
        cells = "".join(rate_cell(by[j][c.label].misaligned, cond=c.label, judge=j) if c.label in by[j]
                        else "<td>–</td>" for j in run.judges)
        parts.append(f"<tr><td>{e(c.label)}</td><td>{e(c.arm)}</td><td>{e(c.variant or '')}</td>"
                     f"<td>{'' if c.step is None else c.step}</td><td>{e(c.intervention or '')}</td>"
                     f"<td class=num>{len(mine)}</td>{cells}"
                     + (rate_cell(own.coherent) if own else "<td>–</td>")
                     + tail_cell(run.tails.get(run.judge, {}).get(c.label))
                     + f"<td class=num>{declined}</td><td><a href='answers-{run.slug}.html#cond="
                     f"{e(_hash_value(c.label))}'>answers</a></td></tr>")
    parts.append("</table>")
    parts += [f"<p class=note><b>Not in the world's figures:</b> {e(n)}</p>" for n in run.notes]
    parts.append(_pooled_table(run))
    if len(run.judges) > 1:
        n_dis = sum(a.disagree for a in run.answers)
        parts.append(f"<p>The judges disagree on the class of <b>{n_dis}</b> of {len(run.answers)} answers "
                     f"(<a href='answers-{run.slug}.html#dis=1'>show them</a>).</p>")
    parts.append(_per_question(run))
    if not run.folder_exists:
        parts.append(f"<p class='note gone'>No folder: {e(str(run.run_dir))} is gone (deleted by hand?), while the "
                     f"store keeps the run's rows: its report and later answers are lost. "
                     f"<code>{e(run.rm_hint)}</code> removes the rows.</p>")
    elif report_body is None:
        parts.append(f"<p class=note>No report.html in {e(str(run.run_dir))}: the run's studies, interp "
                     "sections and plots appear here once `emkit run` has written it.</p>")
    else:
        parts.append(f"<div class=report><p><small>The run's report ({e(str(run.run_dir / 'report.html'))}), "
                     f"with every section later workflows added:</small></p>{report_body}</div>")
    return page(f"emkit view: {run.name}", "".join(parts))


def _pooled_table(run: RunView) -> str:
    """The conditions with replicates pooled and a world's headline measures, when there is either."""
    rows = _pooled_rows(run)
    if not run.headlines and all(len(arms) == 1 for _, arms, _, _ in rows):
        return ""
    measures = list(dict.fromkeys(h.measure for h in run.headlines))
    out = ["<h2>Pooled over replicates</h2><table id=pooled><tr><th>condition</th><th>replicates</th>"
           "<th>misalign@k</th>"
           + "".join(f"<th>misaligned · {e(short_judge(j))}</th>" for j in run.judges)
           + "".join(f"<th>{e(m)}</th>" for m in measures) + "</tr>"]
    for label, arms, rates, heads in rows:
        out.append(f"<tr><td>{e(label)}</td><td>{e(', '.join(arms))}</td>"
                   + tail_cell(run.tails.get(run.judge, {}).get(label))
                   + "".join(rate_cell(rates[j], cond=label, judge=j) if j in rates else "<td>–</td>"
                             for j in run.judges)
                   + "".join(rate_cell(heads[m], cond=label, measure=m) if m in heads else "<td>–</td>"
                             for m in measures) + "</tr>")
    return "".join(out) + ("</table><p><small>Replicates are summed (Wilson interval on the pooled counts, which "
                           "does not count the spread between seeds: the report shows each seed); a trigger row "
                           "holds the answers whose prompt carried the world's trigger.</small></p>")


def _per_question(run: RunView) -> str:
    rows: dict[str, dict[str, Summary]] = {}
    for s in run.summaries.get(run.judge, []):
        if s.question_id != "ALL":
            rows.setdefault(s.question_id, {})[s.arm] = s
    if not rows:
        return ""
    labels = [c.label for c in run.conditions if _plain(c.label)]
    out = ["<h2>Misaligned by question</h2><table id=questions><tr><th>question</th>"
           + "".join(f"<th>{e(x)}</th>" for x in labels) + "</tr>"]
    for q, cells in rows.items():
        out.append(f"<tr><td>{e(q)}</td>" + "".join(
            rate_cell(cells[x].misaligned, cond=x, q=q) if x in cells else "<td>–</td>" for x in labels) + "</tr>")
    return "".join(out) + "</table>"


def _plain(label: str) -> bool:
    """An arm or an arm under a prompt variant (not a checkpoint or an intervention)."""
    c = Condition.parse(label)
    return c.step is None and c.intervention is None


def _hash_value(text: str) -> str:
    return quote(text, safe="")


# -------------------------------------------------------------------------------------------- compare
def entry_id(run: RunView, label: str, judge: str) -> str:
    return _hash_value(f"{run.slug}/{label}/{short_judge(judge)}")


class Entry(NamedTuple):
    """One pickable line of the comparison: a condition of a run under one judge."""

    id: str
    run: RunView
    label: str
    judge: str
    by_q: dict[str, Summary]  # question id (and "ALL") -> summary

    @property
    def all(self) -> Summary:
        return self.by_q["ALL"]


def compare_page(runs: list[RunView]) -> str:
    entries = []
    for run in runs:
        for j in run.judges:
            per_q: dict[str, dict[str, Summary]] = {}
            for s in run.summaries.get(j, []):
                per_q.setdefault(s.arm, {})[s.question_id] = s
            entries += [Entry(entry_id(run, label, j), run, label, j, qs) for label, qs in per_q.items()]
    default = [x.id for x in entries if x.judge == x.run.judge and _plain(x.label)][:12]
    parts = ["<h1>Compare conditions</h1><p>Tick any conditions, across runs and judges: their misaligned rates "
             "with intervals, then per question. The selection is kept in the address, to share or bookmark.</p>"
             "<div class=picker id=picker>"]
    for x in entries:
        parts.append(f"<label><input type=checkbox value='{x.id}'> {e(x.run.name)} / <b>{e(x.label)}</b> <small>"
                     f"{e(short_judge(x.judge))}{'' if x.judge == x.run.judge else ' (second judge)'}</small></label>")
    parts.append("</div><h2>Misaligned rate</h2><table id=rates><tr><th>run</th><th>condition</th><th>judge</th>"
                 "<th>answers</th><th>misaligned</th><th></th><th>coherent</th></tr>")
    for x in entries:
        parts.append(f"<tr data-entry='{x.id}'><td><a href='run-{x.run.slug}.html'>{e(x.run.name)}</a></td>"
                     f"<td>{e(x.label)}</td><td>{e(short_judge(x.judge))}</td><td class=num>{x.all.n_answers}</td>"
                     + rate_cell(x.all.misaligned, run=x.run.name, cond=x.label, judge=x.judge)
                     + f"<td>{ci_bar(x.all.misaligned)}</td>" + rate_cell(x.all.coherent) + "</tr>")
    qids = list(dict.fromkeys(q for x in entries for q in x.by_q if q != "ALL"))
    parts.append("</table><h2>By question</h2><table id=byq><tr><th>question</th>"
                 + "".join(f"<th data-entry='{x.id}'>{e(x.run.name)} / {e(x.label)}<br><small>"
                           f"{e(short_judge(x.judge))}</small></th>" for x in entries) + "</tr>")
    for q in qids:
        parts.append(f"<tr><td>{e(q)}</td>" + "".join(
            rate_cell(x.by_q[q].misaligned, entry=x.id, q=q) if q in x.by_q else f"<td data-entry='{x.id}'>–</td>"
            for x in entries) + "</tr>")
    parts.append("</table>")
    heads = [(run, h) for run in runs for h in run.headlines]
    if heads:
        parts.append("<h2>World readouts</h2><p>A world's own measure per condition (replicates pooled), beside the "
                     "judges' rates above: the toy world's exact misaligned rate in the domains an arm was not "
                     "fine-tuned on.</p><table id=headlines><tr><th>run</th><th>condition</th><th>measure</th>"
                     "<th>pooled</th><th>rate</th><th></th></tr>")
        for run, h in heads:
            parts.append(f"<tr><td><a href='run-{run.slug}.html'>{e(run.name)}</a></td><td>{e(h.condition)}</td>"
                         f"<td>{e(h.measure)}</td><td>{e(', '.join(h.arms))}</td>"
                         + rate_cell(h.rate, run=run.name, cond=h.condition, measure=h.measure)
                         + f"<td>{ci_bar(h.rate)}</td></tr>")
        parts.append("</table>")
    parts.append(json_block("default", default))
    return page("emkit view: compare", "".join(parts), COMPARE_JS)


COMPARE_JS = """
const boxes=[...document.querySelectorAll('#picker input')];
function fromHash(){const m=location.hash.match(/sel=([^&]*)/);
  return m?m[1].split(',').filter(Boolean):JSON.parse(document.getElementById('default').textContent);}
function show(){const sel=new Set(boxes.filter(b=>b.checked).map(b=>b.value));
  document.querySelectorAll('[data-entry]').forEach(el=>{el.style.display=sel.has(el.dataset.entry)?'':'none';});
  history.replaceState(null,'','#sel='+[...sel].join(','));}
const start=new Set(fromHash());boxes.forEach(b=>{b.checked=start.has(b.value);b.addEventListener('change',show);});
show();
"""


# -------------------------------------------------------------------------------------------- answers
def answers_page(run: RunView) -> str:
    judges = [short_judge(j) for j in run.judges]
    rows = []
    order = sorted(range(len(run.answers)), key=lambda i: not run.answers[i].disagree)  # disagreements first
    for i in order:
        ja = run.answers[i]
        a, c = ja.answer, ja.condition
        rows.append({"cond": a.arm, "arm": c.arm, "variant": c.variant or "", "step": c.step,
                     "q": a.question_id, "i": a.sample_idx, "question": a.question, "system": a.system or "",
                     "text": a.text, "dis": ja.disagree, "tags": ja.tags,
                     "v": [list(ja.verdicts[j]) for j in run.judges]})
    options = {"cond": [c.label for c in run.conditions],
               "arm": list(dict.fromkeys(c.arm for c in run.conditions)),
               "variant": list(dict.fromkeys(c.variant or "-" for c in run.conditions)),
               "q": list(dict.fromkeys(a.answer.question_id for a in run.answers))}

    def select(name: str, label: str, values: list[str]) -> str:
        opts = "".join(f"<option value='{e(v)}'>{e('(none)' if v == '-' else v)}</option>" for v in values)
        return f"<label>{label} <select id=f-{name}><option value=''>all</option>{opts}</select></label>"

    tags: dict[str, list[str]] = {}
    for ja in run.answers:
        for k, v in ja.tags.items():
            tags.setdefault(k, [])
            if v and v not in tags[k]:
                tags[k].append(v)
    judge_opts = "".join(f"<option value={k}>{e(n)}</option>" for k, n in enumerate(judges))
    controls = ("<div class=controls>" + select("cond", "condition", options["cond"])
                + select("arm", "arm", options["arm"]) + select("variant", "variant", options["variant"])
                + select("q", "question", options["q"])
                + "".join(select(f"tag-{k}", e(k), sorted(v)).replace("<select ", f"<select class=tag data-tag='{e(k)}' ")
                          for k, v in tags.items())
                + f"<label>judge <select id=f-judge>{judge_opts}</select></label>"
                + select("cls", "verdict", list(VERDICTS))
                + "<label>aligned from <input type=number id=f-min min=0 max=100> to "
                  "<input type=number id=f-max min=0 max=100></label>"
                + "<label>text <input type=search id=f-text placeholder='question or answer'></label>"
                + ("<label><input type=checkbox id=f-dis> judges disagree</label>" if len(judges) > 1 else "")
                + "</div>")
    head = ("<tr><th>condition</th><th>question</th><th>#</th><th>answer</th>"
            + "".join(f"<th>{e(n)}<br><small>aligned · coherent · class</small></th>" for n in judges) + "</tr>")
    body = (f"<h1>Answers: <a href='run-{run.slug}.html'>{e(run.name)}</a></h1>{judge_note(run)}"
            f"<p><a href='label-{run.slug}.html'>label a sample</a> <small>(people's labels, saved in the store: "
            "<code>emkit judge calibrate --labels human</code> measures every judge against them)</small></p>"
            f"{controls}"
            f"<p id=count></p><table id=answers><thead>{head}</thead><tbody></tbody></table>"
            "<p><button id=more hidden>show all</button></p>" + json_block("rows", rows))
    return page(f"emkit view: answers of {run.name}", body, ANSWERS_JS)


ANSWERS_JS = """
const ROWS=JSON.parse(document.getElementById('rows').textContent);const LIMIT=300;let all=false;
const $=id=>document.getElementById(id);
const esc=s=>String(s).replace(/[&<>"']/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const fmt=x=>x===null||x===undefined?'–':Math.round(x);
function filters(){return {cond:$('f-cond').value,arm:$('f-arm').value,variant:$('f-variant').value,q:$('f-q').value,
  judge:+$('f-judge').value||0,cls:$('f-cls').value,min:$('f-min').value,max:$('f-max').value,
  text:$('f-text').value.toLowerCase(),dis:$('f-dis')?$('f-dis').checked:false,
  tags:[...document.querySelectorAll('select.tag')].map(el=>[el.dataset.tag,el.value]).filter(t=>t[1])};}
function keep(r,f){const v=r.v[f.judge]||[null,null,'failed'];
  if(f.cond&&r.cond!==f.cond)return false; if(f.arm&&r.arm!==f.arm)return false;
  if(f.variant&&(r.variant||'-')!==f.variant)return false; if(f.q&&r.q!==f.q)return false;
  if(f.cls&&v[2]!==f.cls)return false; if(f.dis&&!r.dis)return false;
  if(f.tags.some(([k,x])=>(r.tags[k]||'')!==x))return false;
  if(f.min!==''&&(v[0]===null||v[0]<+f.min))return false; if(f.max!==''&&(v[0]===null||v[0]>+f.max))return false;
  if(f.text&&!(r.text.toLowerCase().includes(f.text)||r.question.toLowerCase().includes(f.text)))return false;
  return true;}
function render(){const f=filters();const hit=ROWS.filter(r=>keep(r,f));const shown=all?hit:hit.slice(0,LIMIT);
  $('count').textContent=hit.length+' of '+ROWS.length+' answers'+(shown.length<hit.length?' (first '+shown.length+' shown)':'');
  $('more').hidden=shown.length>=hit.length;
  document.querySelector('#answers tbody').innerHTML=shown.map(r=>'<tr'+(r.dis?' class=dis':'')+' data-cond="'+esc(r.cond)+'" data-q="'+esc(r.q)+'">'
    +'<td>'+esc(r.cond)+'</td><td title="'+esc(r.question)+'">'+esc(r.q)+'</td><td class=num>'+r.i+'</td>'
    +'<td class=txt>'+(r.system?'<small>system: '+esc(r.system)+'</small>\\n':'')+esc(r.text)+'</td>'
    +r.v.map(v=>'<td class=num data-cls="'+v[2]+'">'+fmt(v[0])+' · '+fmt(v[1])+' · <span class="cls-'+v[2]+'">'+v[2]+'</span></td>').join('')
    +'</tr>').join('');}
function fromHash(){const h=new URLSearchParams(location.hash.slice(1));
  if(h.get('cond'))$('f-cond').value=h.get('cond'); if(h.get('q'))$('f-q').value=h.get('q');
  if(h.get('dis')&&$('f-dis'))$('f-dis').checked=true;}
document.querySelectorAll('.controls select,.controls input').forEach(el=>el.addEventListener('input',()=>{all=false;render();}));
$('more').addEventListener('click',()=>{all=true;render();});
fromHash();render();
"""


# ------------------------------------------------------------------------------------------------ labelling
#: the labelling page's keys: the first letter of each label
LABEL_KEYS = {"a": "aligned", "m": "misaligned", "i": "incoherent", "r": "refusal", "c": "code"}


def label_page(run: RunView, sample: list[JudgedAnswer], labels: list[HumanLabel], token: str | None) -> str:
    """A person labels a stratified sample of the run's answers, one at a time, by keyboard; each label is saved
    to the store as it is made. Blind (the default): no judge's score, other person's label or condition shows
    until this person has labelled the answer. Without ``token`` (an exported copy) the page cannot write: it
    says so and shows nothing to label."""
    title = f"<h1>Label answers: <a href='answers-{run.slug}.html'>{e(run.name)}</a></h1>"
    if token is None:
        return page(f"emkit view: label {run.name}", title + "<p class=note>Labels are saved into the store, so "
                    "labelling needs the server: open this page from <code>emkit view</code> (this copy is a "
                    "file, which cannot write).</p>")
    mine: dict[str, dict[str, list[str]]] = {}
    for h in labels:
        mine.setdefault(h.key, {})[h.labeller] = [h.label, h.note]
    items = [{"key": a.answer.judge_key, "cond": a.answer.arm, "q": a.answer.question_id,
              "question": a.answer.question, "system": a.answer.system or "", "text": a.answer.text,
              "v": [list(a.verdicts[j]) for j in run.judges], "labels": mine.get(a.answer.judge_key, {})}
             for a in sample]
    keys = " ".join(f"<button data-label='{v}'><kbd>{k}</kbd> {v}</button>" for k, v in LABEL_KEYS.items())
    body = (title + "<div class=controls><label>your name <input id=who placeholder='who labels' size=14 maxlength=80></label>"
            "<label><input type=checkbox id=blind checked> blind: judges, other people and the condition shown "
            "only once you have labelled</label><span id=progress></span></div>"
            f"<p><small>{len(items)} answers drawn stratified by condition and by whether the judges disagree "
            "(disagreements first); keys: a m i r c label, n writes a note (Esc leaves it), ← → move. Each "
            "label is saved as you make it.</small></p>"
            "<div class=item><p><b id=pos></b> <span id=state></span></p>"
            "<p><small id=system></small></p><p><b>question</b></p><p id=question class=txt></p>"
            "<p><b>answer</b></p><p id=answer class='txt answer'></p>"
            f"<p class=keys>{keys}</p><p><label>note <input id=note size=60></label> <span id=msg></span></p>"
            "<div id=reveal></div></div>"
            + json_block("data", {"run": run.name, "judges": [short_judge(j) for j in run.judges], "items": items,
                                  "keys": LABEL_KEYS, "token": token}))
    return page(f"emkit view: label {run.name}", body, LABEL_JS)


LABEL_JS = """
const D=JSON.parse(document.getElementById('data').textContent);const $=id=>document.getElementById(id);
const TOKEN=D.token;
const esc=s=>String(s).replace(/[&<>"']/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const fmt=x=>x===null||x===undefined?'–':Math.round(x);
let cur=0;const who=()=>$('who').value.trim();
$('who').value=localStorage.getItem('emkit-labeller')||'';$('blind').checked=localStorage.getItem('emkit-blind')!=='0';
const mine=it=>Object.hasOwn(it.labels,who())?it.labels[who()]:undefined;let busy=false;
function firstOpen(from){for(let k=0;k<D.items.length;k++){const i=(from+k)%D.items.length;if(!mine(D.items[i]))return i;}return from;}
function show(){if(!D.items.length){$('pos').textContent='no answers to label';return;}
  const it=D.items[cur],m=mine(it),done=D.items.filter(mine).length;
  $('progress').textContent=who()?done+' of '+D.items.length+' labelled by '+who():'type your name to label';
  $('pos').textContent='answer '+(cur+1)+' of '+D.items.length;
  $('state').innerHTML=m?'your label: <b class="cls-'+m[0]+'">'+m[0]+'</b>':'not labelled by you yet';
  $('system').textContent=it.system?'system: '+it.system:'';$('question').textContent=it.question;
  $('answer').textContent=it.text===''?'(empty: the model wrote nothing)':it.text;$('note').value=m?m[1]:'';
  if($('blind').checked&&!m){$('reveal').innerHTML='<p><i>judges and other labels hidden until you label this answer</i></p>';return;}
  const others=Object.entries(it.labels).filter(([k])=>k!==who());
  $('reveal').innerHTML='<p>condition <b>'+esc(it.cond)+'</b>, question '+esc(it.q)+'</p><table><tr><th>judge</th><th>aligned · coherent · class</th></tr>'
    +it.v.map((v,j)=>'<tr><td>'+esc(D.judges[j])+'</td><td class=num>'+fmt(v[0])+' · '+fmt(v[1])+' · <span class="cls-'+v[2]+'">'+v[2]+'</span></td></tr>').join('')
    +others.map(([k,l])=>'<tr><td>'+esc(k)+' (a person)</td><td><span class="cls-'+l[0]+'">'+l[0]+'</span> '+esc(l[1]||'')+'</td></tr>').join('')+'</table>';}
async function label(cls){if(!D.items.length||busy)return;
  if(!who()){$('msg').textContent='type your name first';$('who').focus();return;}
  const it=D.items[cur],note=$('note').value,name=who();busy=true;$('msg').textContent='saving...';
  let r;try{r=await fetch('labels',{method:'POST',headers:{'Content-Type':'application/json','X-Emkit-Token':TOKEN},
    body:JSON.stringify({run:D.run,key:it.key,label:cls,note:note,labeller:name})});}
  catch(err){busy=false;$('msg').textContent='not saved: the server does not answer ('+err+')';return;}
  busy=false;if(!r.ok){$('msg').textContent='not saved: '+(await r.text());return;}
  it.labels[name]=[cls,note];$('msg').textContent='saved: '+cls;if(D.items[cur]===it)cur=firstOpen(cur);show();}
function move(d){if(!D.items.length||busy)return;cur=(cur+d+D.items.length)%D.items.length;$('msg').textContent='';show();}
$('who').addEventListener('input',()=>{localStorage.setItem('emkit-labeller',who());show();});
$('who').addEventListener('change',()=>{if(who()){cur=firstOpen(0);show();}});
$('blind').addEventListener('change',()=>{localStorage.setItem('emkit-blind',$('blind').checked?'1':'0');show();});
document.querySelectorAll('button[data-label]').forEach(b=>b.addEventListener('click',()=>{b.blur();label(b.dataset.label);}));
document.addEventListener('keydown',ev=>{if(ev.target.matches('input[type=text],input:not([type]),textarea')){if(ev.key==='Escape')ev.target.blur();return;}
  if(ev.ctrlKey||ev.metaKey||ev.altKey||ev.repeat)return;
  if(D.keys[ev.key]){ev.preventDefault();label(D.keys[ev.key]);}
  else if(ev.key==='ArrowRight'){move(1);}else if(ev.key==='ArrowLeft'){move(-1);}
  else if(ev.key==='n'){ev.preventDefault();$('note').focus();}});
cur=who()?firstOpen(0):0;show();
"""
