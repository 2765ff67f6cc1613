"""Judge agreement as workflows: a judge run over labelled answers (its calibration figures), and two judges on
one finished run's answers (rates side by side, Cohen's kappa, Spearman). Both go through the judge cache, so
only answers a judge has not scored cost calls."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import JudgeConfig, MetricsConfig
from emkit.core.errors import EmkitError
from emkit.core.records import Answer, HumanLabel, Judgment
from emkit.core.store import Store
from emkit.judges import judge_answers
from emkit.judges.calibrate import (
    Calibration,
    LabelledRow,
    calibration_figures,
    cohen_kappa,
    json_safe,
    rows_as_answers,
    rows_from_labels,
)
from emkit.metrics.correlation import spearman
from emkit.metrics.rates import is_misaligned, judged_class, summarize
from emkit.pipeline.finished import FinishedRun


def calibrate(cfg: JudgeConfig, rows: list[LabelledRow], store: Store, metrics: MetricsConfig | None = None
              ) -> Calibration:
    """A judge's figures on labelled rows (the built-in calibration set, or a user's labelled file)."""
    judgments, judge = judge_answers(rows_as_answers(rows), store, cfg)
    cal = calibration_figures(judge.id if judge else cfg.judge_id(), rows, judgments, metrics)
    cal.extra["judge_calls"] = judge.calls if judge else 0
    return cal


@dataclass
class Comparison:
    """Judges on the same answers: each condition's rates under every judge side by side, and agreement for
    every pair (Cohen's kappa on misaligned and on the class, Spearman of the scores both gave)."""

    run: str
    judges: tuple[str, ...]
    rows: list[dict[str, Any]]  # per condition (arm, or labelled file): n, misaligned and coherent under each judge
    n_both_scored: int  # answers every judge scored on both metrics
    pairs: list[dict[str, Any]]  # a, b, n scored by both, kappa_misaligned, kappa_class, spearman_aligned/coherent
    judge_calls: tuple[int, ...]
    saved_to: Path | None = None

    def pair(self, a: int = 0, b: int = 1) -> dict[str, Any]:
        return next(p for p in self.pairs if (p["a"], p["b"]) == (self.judges[a], self.judges[b]))

    @property
    def kappa_misaligned(self) -> float | None:  # the first two judges' (the comparison of two judges)
        return self.pair()["kappa_misaligned"]

    @property
    def kappa_class(self) -> float | None:
        return self.pair()["kappa_class"]

    @property
    def spearman_aligned(self) -> float | None:
        return self.pair()["spearman_aligned"]

    @property
    def spearman_coherent(self) -> float | None:
        return self.pair()["spearman_coherent"]

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "saved_to"}
        return {**out, "kappa_misaligned": self.kappa_misaligned, "kappa_class": self.kappa_class,
                "spearman_aligned": self.spearman_aligned, "spearman_coherent": self.spearman_coherent}


def compare_answers(name: str, answers: list[Answer], judges: list[JudgeConfig], store: Store,
                    metrics: MetricsConfig, given: dict[str, dict[tuple[str, str], Judgment]] | None = None
                    ) -> Comparison:
    """Score ``answers`` with every judge through the cache (only misses cost calls) and compare them, with any
    verdicts already ``given`` (e.g. a file's labels, under their own name) as more judges. Conditions are the
    answers' arms."""
    verdicts, ids, calls = [], [], []
    for label, got in (given or {}).items():
        verdicts.append(got)
        ids.append(label)
        calls.append(0)
    for cfg in judges:
        got, judge = judge_answers(answers, store, cfg)
        verdicts.append(got)
        ids.append(judge.id if judge else cfg.judge_id())
        calls.append(judge.calls if judge else 0)
    if len(ids) < 2 or len(set(ids)) < len(ids):
        raise EmkitError(f"compare needs two or more different judges (got {', '.join(ids)})")
    sums = [{s.arm: s for s in summarize(answers, v, metrics) if s.question_id == "ALL"} for v in verdicts]
    rows = []
    for arm in sums[0]:
        row: dict[str, Any] = {"arm": arm, "n": sums[0][arm].n_answers}
        row.update({f"misaligned[{j}]": str(s[arm].misaligned) for j, s in zip(ids, sums, strict=True)})
        row.update({f"coherent[{j}]": str(s[arm].coherent) for j, s in zip(ids, sums, strict=True)})
        rows.append(row)
    keys = list(dict.fromkeys(ans.judge_key for ans in answers))

    def scored(v: dict[tuple[str, str], Judgment], k: str) -> bool:
        return all((j := v.get((k, m))) is not None and j.score is not None for m in ("aligned", "coherent"))

    pairs = []
    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            vx, vy = verdicts[x], verdicts[y]
            ok = [k for k in keys if all((j := v.get((k, m))) is not None and j.status != "failed"
                                         for v in (vx, vy) for m in ("aligned", "coherent"))]
            both = [k for k in ok if scored(vx, k) and scored(vy, k)]
            mis = [[is_misaligned(v.get((k, "aligned")), v.get((k, "coherent")), metrics) for k in ok] for v in (vx, vy)]
            cls = [[judged_class(v.get((k, "aligned")), v.get((k, "coherent")), metrics) for k in ok] for v in (vx, vy)]
            pairs.append({"a": ids[x], "b": ids[y], "n": len(ok), "n_both_scored": len(both),
                          "kappa_misaligned": cohen_kappa(mis[0], mis[1]), "kappa_class": cohen_kappa(cls[0], cls[1]),
                          **{f"spearman_{m}": spearman([vx[(k, m)].score for k in both],  # type: ignore[misc]
                                                       [vy[(k, m)].score for k in both]) for m in ("aligned", "coherent")}})
    n_all = sum(all(scored(v, k) for v in verdicts) for k in keys)
    return Comparison(name, tuple(ids), rows, n_all, pairs, tuple(calls))


def compare_judges(run: FinishedRun, *judges: JudgeConfig) -> Comparison:
    """Judges on a finished run's answers, per arm; saved as ``RUN/judges-A__B[__C...].json``."""
    cmp = compare_answers(run.name, run.answers, list(judges), run.opened, run.metrics)
    cmp.saved_to = run.folder.judges(cmp.judges)
    cmp.saved_to.write_text(json.dumps(cmp.to_json(), indent=1))
    return cmp


def compare_on_labels(rows: list[LabelledRow], judges: list[JudgeConfig], store: Store,
                      metrics: MetricsConfig | None = None, labels: str = "labels") -> Comparison:
    """Judges on labelled answers (a judged-answers CSV per condition, say), beside the labels themselves as one
    more judge: the misaligned rate each would report per condition, and every pair's agreement."""
    metrics = metrics or MetricsConfig()
    answers = rows_as_answers(rows, by_condition=True)
    return compare_answers("labelled answers", answers, judges, store, metrics, {labels: label_judgments(rows, labels)})


def label_judgments(rows: list[LabelledRow], labels: str = "labels") -> dict[tuple[str, str], Judgment]:
    """Labelled rows as one more judge's judgments (by (key, metric)), so they sit beside real judges."""
    given: dict[tuple[str, str], Judgment] = {}
    for r in rows:
        word = r.label if r.label in ("code", "refusal") else None
        al, co = (None if math.isnan(r.aligned) else r.aligned), (None if math.isnan(r.coherent) else r.coherent)
        # a score the row lacks (a person's label has none): the class's extreme says the same class; a real score
        # the row has is kept
        extreme_al, extreme_co = _CLASS_SCORES.get(r.label, (None, 100.0))
        al, co = (extreme_al if al is None else al), (extreme_co if co is None else co)
        given[(r.key, "aligned")] = Judgment(labels, "aligned", r.key, al, "ok" if al is not None else "no_score",
                                             "", word)
        given[(r.key, "coherent")] = Judgment(labels, "coherent", r.key, co, "ok")
    return given


#: (aligned, coherent) standing for a class where a label has none (people's labels): every threshold in use
#: classes them as the label says
_CLASS_SCORES: dict[str, tuple[float | None, float]] = {"aligned": (100.0, 100.0), "misaligned": (0.0, 100.0),
                                                        "incoherent": (50.0, 0.0)}


@dataclass
class HumanCalibration:
    """Every judge against people's labels (``emkit judge calibrate --labels human[:NAME]``): each judge's
    figures on the labelled answers it scored, and each pair of labellers' agreement on the answers both labelled."""

    source: str  # human (everyone's, where they agree) or human:NAME
    labellers: list[str]
    n_labels: int  # labelled answers used
    n_disputed: int  # answers labellers disagree on (left out of ``human``, which takes their consensus)
    judges: list[Calibration]
    #: a, b, n (answers both labelled), kappa on the class and on misaligned-or-not, share agreeing
    pairs: list[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)  # judges left out, and why
    #: per condition, side by side: n labelled, the share people labelled misaligned, and each judge's misaligned
    #: rate (with the n it scored) under its id
    per_condition: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As JSON allows: a figure with no value (NaN: no misaligned label, say) is null."""
        return json_safe({**asdict(self), "judges": [c.to_json() for c in self.judges]})


def people_labels(every: list[HumanLabel], who: str | None = None, where: object = "the store"
                  ) -> tuple[list[HumanLabel], int]:
    """Of people's labels (``Store.labels()``), those to measure against: one labeller's (``who``), or everyone's
    where they agree, each answer once; and how many answers were left out because labellers disagree on them."""
    names = sorted({h.labeller for h in every})
    if not every:
        raise EmkitError(f"no labels in {where}: label answers in `emkit view` (an answers page, 'label a sample')")
    if who is not None:
        if who not in names:
            raise EmkitError(f"no labels by '{who}' in {where} (labellers: {', '.join(names)})")
        return [h for h in every if h.labeller == who], 0
    grouped = by_answer(every)
    agreed = [hs for hs in grouped.values() if len({h.label for h in hs}) == 1]
    if not agreed:
        raise EmkitError(f"the {len(names)} labellers disagree on every answer they labelled")
    return [hs[0] for hs in agreed], len(grouped) - len(agreed)


def by_answer(labels: list[HumanLabel]) -> dict[str, list[HumanLabel]]:
    """Labels grouped by the answer they label (its judge key), in the order given."""
    out: dict[str, list[HumanLabel]] = {}
    for h in labels:
        out.setdefault(h.key, []).append(h)
    return out


def calibrate_on_labels(store: Store, who: str | None = None, also: list[JudgeConfig] | None = None,
                        metrics: MetricsConfig | None = None) -> HumanCalibration:
    """Every judge with verdicts in the store on the answers people labelled (the judges that scored the runs they
    were labelled on), and ``also`` (scored now, through the cache), against those labels: one labeller's
    (``who``), or everyone's where they agree. Thresholds: ``metrics`` (default: emkit's)."""
    metrics = metrics or MetricsConfig()
    every = store.labels()
    chosen, disputed = people_labels(every, who, store.path)
    names = sorted({h.labeller for h in every})
    grouped = by_answer(every)
    rows = rows_from_labels(chosen)
    keys = [r.key for r in rows]
    cals = []
    skipped = []
    for judge in store.judges_of(keys):
        got = store.verdicts(judge, keys)
        mine = [r for r in rows if (r.key, "aligned") in got]
        try:
            cals.append(calibration_figures(judge, mine, got, metrics))
        except EmkitError as e:  # every verdict of this judge on these answers failed: said, not fatal
            skipped.append(str(e))
    for cfg in also or []:
        cal = calibrate(cfg, rows, store, metrics)
        cals = [c for c in cals if c.judge != cal.judge] + [cal]
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = [(x, y) for hs in grouped.values()
                    for x in hs if x.labeller == a for y in hs if y.labeller == b]
            la, lb = [x.label for x, _ in both], [y.label for _, y in both]
            pairs.append({"a": a, "b": b, "n": len(both),
                          "agree": sum(x == y for x, y in zip(la, lb, strict=True)) / len(both) if both else None,
                          "kappa_class": cohen_kappa(la, lb),
                          "kappa_misaligned": cohen_kappa([x == "misaligned" for x in la],
                                                          [y == "misaligned" for y in lb])})
    per_condition = []
    for cond in dict.fromkeys(r.condition for r in rows):
        mine = [r for r in rows if r.condition == cond]
        judged = {c.judge: next((x for x in c.per_condition if x["condition"] == cond), None) for c in cals}
        per_condition.append({"condition": cond or "-", "n": len(mine),
                              "people": sum(r.label == "misaligned" for r in mine) / len(mine),
                              "judges": {j: {"n": x["n"], "misaligned": x["judge_misaligned"]}
                                         for j, x in judged.items() if x is not None}})
    return HumanCalibration("human" if who is None else f"human:{who}", names, len(rows), disputed, cals, pairs,
                            skipped, per_condition)
