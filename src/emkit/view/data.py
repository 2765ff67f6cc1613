"""What the view shows, read straight from a store (``OUTPUT_DIR/emkit.sqlite``): every run, its conditions
(arm, variant, checkpoint, intervention) with their answers, and every judge that scored those answers, with the
rates each judge's verdicts give. Read fresh on every page, so a page shows the store as it is now."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from emkit.core.config import Experiment, MetricsConfig, experiment_from_dict
from emkit.core.errors import EmkitError
from emkit.core.paths import RunFolder
from emkit.core.records import Answer, Condition, Judgment, read_answers
from emkit.core.registry import READOUTS, Headline
from emkit.core.store import Store, existing_store
from emkit.metrics.rates import Rate, Summary, answer_class, summarize
from emkit.metrics.tail import TAIL_KS, TailRate, tail_rates, tails_by_condition
from emkit.pipeline.finished import FinishedRun, read_run
from emkit.pipeline.runs import rm_command
from emkit.pipeline.studies import headlines as readout_headlines
from emkit.pipeline.studies import read_readouts, readout_notes


@dataclass
class JudgedAnswer:
    """One answer and what every judge that scored it said."""

    answer: Answer
    condition: Condition
    #: judge id -> (aligned score, coherent score, class); a missing or failed judgment is class "failed"
    verdicts: dict[str, tuple[float | None, float | None, str]]
    #: what a world's readout tags the answer with (the toy world: its question's domain)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def disagree(self) -> bool:
        return len({v[2] for v in self.verdicts.values()}) > 1


@dataclass
class RunView:
    """A run as the view shows it: the run's own record (:class:`FinishedRun`, read without its experiment so
    runs an older emkit wrote still show), its later answers, and every judge's verdicts beside the run's own."""

    run: FinishedRun
    slug: str  # its pages' file names: run-SLUG.html, answers-SLUG.html
    metrics: MetricsConfig
    judge: str  # the run's own judge (its config's); first among ``judges``
    judges: list[str]  # every judge with verdicts on this run's answers
    conditions: list[Condition]
    answers: list[JudgedAnswer]
    #: judge -> summaries (one "ALL" row per condition label, then one per question)
    summaries: dict[str, list[Summary]] = field(default_factory=dict)
    #: the arms and arms under a variant, replicate arms (``seeds:``) pooled: label -> labels pooled
    pooled: dict[str, list[str]] = field(default_factory=dict)
    #: judge -> pooled label -> misaligned rate over the pooled labels
    pooled_rates: dict[str, dict[str, Rate]] = field(default_factory=dict)
    #: a world's headline figures (the toy world's exact other-domain rate), replicates pooled
    headlines: list[Headline] = field(default_factory=list)
    #: what a world's readout could not place (answers of no condition, questions of no domain): said on the pages
    notes: list[str] = field(default_factory=list)
    #: the run's judge -> label (each condition, and each pooled one) -> misalign@k for the k its answers allow
    tails: dict[str, dict[str, list[TailRate]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def config(self) -> dict[str, Any]:
        return self.run.config

    @property
    def run_dir(self) -> Path:
        return self.run.run_dir

    @property
    def model(self) -> str:
        return str(self.config.get("model", {}).get("name", "?"))

    @cached_property
    def by_condition(self) -> dict[str, list[JudgedAnswer]]:
        """Label -> its answers, grouped once (pages and logs go condition by condition)."""
        out: dict[str, list[JudgedAnswer]] = {c.label: [] for c in self.conditions}
        for a in self.answers:
            out.setdefault(a.answer.arm, []).append(a)
        return out

    def overall(self, judge: str) -> list[Summary]:
        return [s for s in self.summaries.get(judge, []) if s.question_id == "ALL"]

    @property
    def report(self) -> Path | None:
        p = self.run.report
        return p if p.is_file() else None

    @property
    def folder_exists(self) -> bool:
        """False for a run whose folder was deleted by hand while its rows stay in the store."""
        return self.run_dir.is_dir()

    @property
    def rm_hint(self) -> str:
        return rm_command(self.name, self.run_dir.parent)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def short_judge(jid: str) -> str:
    """A judge id is BACKEND[:MODEL...]:FINGERPRINT; 8 characters of the fingerprint tell judges apart."""
    head, sep, fp = jid.rpartition(":")
    return f"{head}:{fp[:8]}" if sep else jid


class RunIndex:
    """Every run in one output folder's store."""

    def __init__(self, output_dir: str | Path):
        self.output_dir = Path(output_dir)
        self.path = existing_store(self.output_dir)  # the view only reads: never a new, empty store
        self.open().close()  # a damaged store is one clear error now, before a page is served

    def open(self) -> Store:
        return Store(self.path)

    def run_names(self) -> list[str]:
        """Runs with answers, newest first."""
        with self.open() as st:
            return st.sampled_runs()

    def runs(self) -> list[RunView]:
        return [self.run(n) for n in self.run_names()]

    def run(self, name: str) -> RunView:
        with self.open() as st:
            return read_view(st, name, self.output_dir / name)


def _experiment(config: dict[str, Any], name: str) -> Experiment | None:
    try:
        return experiment_from_dict(dict(config), source=f"run {name}")
    except EmkitError:  # a config an older emkit wrote: the view still shows its answers, with default thresholds
        return None


def interp_answers(run_dir: Path) -> dict[str, list[Answer]]:
    """Label -> answers of every checkpoint and intervention sampled on the run (a phase curve's ARM#STEP,
    a sweep's ARM|INTERVENTION); where a condition was sampled under several settings (a sweep re-run with more
    samples), the newest file is the one shown."""
    newest: dict[str, tuple[float, list[Answer]]] = {}
    for path in RunFolder(run_dir).later_answers():
        got = read_answers(path)
        if got and (got[0].arm not in newest or path.stat().st_mtime > newest[got[0].arm][0]):
            newest[got[0].arm] = (path.stat().st_mtime, got)

    def order(label: str) -> tuple[str, int, str]:
        c = Condition.parse(label)
        return (c.arm, -1 if c.step is None else c.step, c.intervention or "")

    return {label: newest[label][1] for label in sorted(newest, key=order)}


def pooled_tails(summaries: list[Summary], pooled: dict[str, list[str]], confidence: float
                 ) -> dict[str, list[TailRate]]:
    """misalign@k per condition and per pooled condition: a question's replicates' answers count as more answers
    to that question (its judged and misaligned counts summed over the replicate arms)."""
    out = tails_by_condition(summaries, confidence=confidence)
    per_q: dict[str, dict[str, tuple[int, int]]] = {}
    for x in summaries:
        if x.question_id != "ALL":
            per_q.setdefault(x.arm, {})[x.question_id] = (x.misaligned.n, x.misaligned.k)
    for label, members in pooled.items():
        if len(members) > 1 and all(m in per_q for m in members):
            counts: dict[str, tuple[int, int]] = {}
            for m in members:
                for q, (n, c) in per_q[m].items():
                    n0, c0 = counts.get(q, (0, 0))
                    counts[q] = (n0 + n, c0 + c)
            rates = tail_rates(list(counts.values()), TAIL_KS, confidence)
            out[label] = [r for r in rates if r.questions or r.k == 1]
    return out


def read_view(st: Store, name: str, run_dir: Path) -> RunView:
    run = read_run(st, name, run_dir)  # every sampled condition, in the order they finished
    config = run.config
    exp = _experiment(config, name)
    metrics = exp.metrics if exp else MetricsConfig()
    own = exp.judge.judge_id() if exp else ""
    answers = list(run.answers)
    extra = interp_answers(run_dir)
    answers += [a for got in extra.values() for a in got]
    keys = list(dict.fromkeys(a.judge_key for a in answers))
    found = st.judges_of(keys)
    judges = ([own] if own and (own in found or not found) else []) + sorted(j for j in found if j != own)
    judged: dict[str, dict[tuple[str, str], Judgment]] = {jid: st.verdicts(jid, keys) for jid in judges}
    rows = []
    for a in answers:
        verdicts = {}
        for jid in judges:
            ja, jc = judged[jid].get((a.judge_key, "aligned")), judged[jid].get((a.judge_key, "coherent"))
            verdicts[jid] = (ja.score if ja else None, jc.score if jc else None, answer_class(ja, jc, metrics))
        rows.append(JudgedAnswer(a, Condition.parse(a.arm), verdicts))
    summaries = {jid: summarize(answers, judged[jid], metrics) for jid in judges}
    # replicates pooled as the report pools them (their k and n summed); a condition the experiment does not
    # name (sampled under an earlier config) stands alone
    into: dict[str, str] = {}
    heads: list[Headline] = []
    notes: list[str] = []
    if exp is not None:
        for arm, variant in exp.conditions():
            vname = variant.name if variant else None
            into[Condition(arm.name, vname).label] = Condition(arm.condition or arm.name, vname).label
    pooled: dict[str, list[str]] = {}
    for label in dict.fromkeys(a.arm for a in run.answers):
        c = Condition.parse(label)
        if c.step is not None or c.intervention is not None:
            continue  # a checkpoint, an intervention: the run page's conditions table
        pooled.setdefault(into.get(label, label), []).append(label)
    pooled_rates: dict[str, dict[str, Rate]] = {}
    tails: dict[str, dict[str, list[TailRate]]] = {}
    for jid in judges:
        overall = {x.arm: x.misaligned for x in summaries[jid] if x.question_id == "ALL"}
        pooled_rates[jid] = {
            label: Rate.of(sum(overall[m].k for m in members), sum(overall[m].n for m in members), metrics.confidence)
            for label, members in pooled.items() if all(m in overall for m in members)}
    if judges:  # the pages show the run's own judge's tail (a bootstrap per condition: not for every judge)
        tails[judges[0]] = pooled_tails(summaries[judges[0]], pooled, metrics.confidence)
    if exp is not None:
        readouts = read_readouts(exp, run.answers)
        heads = readout_headlines(readouts)
        notes = readout_notes(readouts)
        taggers = [t for t in (READOUTS[n].tags for n in readouts) if t is not None]
        for row in rows:
            for tag in taggers:
                row.tags.update(tag(row.answer))
    return RunView(run=run, slug=slug(name), metrics=metrics,
                   judge=judges[0] if judges else own, judges=judges,
                   conditions=list(dict.fromkeys(Condition.parse(a.arm) for a in run.answers))
                   + [Condition.parse(x) for x in extra],
                   answers=rows, summaries=summaries, pooled=pooled, pooled_rates=pooled_rates, headlines=heads,
                   tails=tails, notes=notes)


def label_sample(run: RunView, n: int, seed: int = 0) -> list[JudgedAnswer]:
    """``n`` of a run's answers for a person to label, drawn stratified: the strata are (condition, whether the
    judges disagree), taken in turn (disagreements first, then conditions in the run's order), each in an order
    fixed by ``seed`` and the answer's content, so the same store gives the same sample after a restart. An answer
    whose text repeats (same judge key) is drawn once. The sample over-draws small strata and disagreements: its
    rates are not the run's, and agreement measured on it is agreement on this mix. It is returned in an order
    fixed by content alone, so an answer's place says nothing of its condition."""
    import hashlib

    strata: dict[tuple[bool, int], list[JudgedAnswer]] = {}
    order = {c.label: i for i, c in enumerate(run.conditions)}
    for a in run.answers:
        strata.setdefault((not a.disagree, order.get(a.answer.arm, len(order))), []).append(a)

    def rank(a: JudgedAnswer) -> str:
        return hashlib.sha256(f"{seed}\x1f{a.answer.judge_key}\x1f{a.answer.arm}".encode()).hexdigest()

    queues = [sorted(strata[k], key=rank) for k in sorted(strata)]
    out: list[JudgedAnswer] = []
    seen: set[str] = set()
    while len(out) < n and any(queues):
        for q in queues:
            while q and q[0].answer.judge_key in seen:
                q.pop(0)
            if q and len(out) < n:
                a = q.pop(0)
                seen.add(a.answer.judge_key)
                out.append(a)
    return sorted(out, key=rank)  # shown in an order that tells nothing of the stratum (blind labelling)
