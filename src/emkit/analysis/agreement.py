"""Judge agreement as workflows: a judge run over labelled answers (its calibration figures), and two judges on
one finished run's answers (rates side by side, Cohen's kappa, Spearman). Both go through the judge cache, so
only answers a judge has not scored cost calls."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from emkit.calibrate import (
    Calibration,
    LabelledRow,
    calibration_figures,
    cohen_kappa,
    rows_as_answers,
    spearman,
)
from emkit.config import JudgeConfig, MetricsConfig
from emkit.errors import EmkitError
from emkit.judges import judge_answers
from emkit.metrics import is_misaligned, judged_class, summarize
from emkit.records import Judgment
from emkit.runs import FinishedRun
from emkit.store import Store


def calibrate(cfg: JudgeConfig, rows: list[LabelledRow], store: Store, metrics: MetricsConfig | None = None
              ) -> Calibration:
    """A judge's figures on labelled rows (the built-in calibration set, or a user's labelled file)."""
    judgments, judge = judge_answers(rows_as_answers(rows), store, cfg)
    cal = calibration_figures(judge.id if judge else cfg.judge_id(), rows, judgments, metrics)
    cal.extra["judge_calls"] = judge.calls if judge else 0
    return cal


@dataclass
class Comparison:
    """Two judges on the same answers: rates per arm side by side, and agreement."""

    run: str
    judges: tuple[str, str]
    rows: list[dict[str, Any]]  # per arm: n, misaligned and coherent rates under each judge
    n_both_scored: int
    kappa_misaligned: float | None
    kappa_class: float | None
    spearman_aligned: float | None
    spearman_coherent: float | None
    judge_calls: tuple[int, int]
    saved_to: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "saved_to"}


def compare_judges(run: FinishedRun, a: JudgeConfig, b: JudgeConfig) -> Comparison:
    """Score the run's answers with both judges through the cache (only misses cost calls), then compare; saved
    as ``RUN/judges-A__B.json``."""
    mcfg = run.metrics
    verdicts, ids, calls = [], [], []
    for cfg in (a, b):
        got, judge = judge_answers(run.answers, run.store, cfg)
        verdicts.append(got)
        ids.append(judge.id if judge else cfg.judge_id())
        calls.append(judge.calls if judge else 0)
    if ids[0] == ids[1]:
        raise EmkitError(f"both sides are the same judge ({ids[0]})")
    sums = [{s.arm: s for s in summarize(run.answers, v, mcfg) if s.question_id == "ALL"} for v in verdicts]
    rows = [{"arm": arm, "n": sums[0][arm].n_answers,
             f"misaligned[{ids[0]}]": str(sums[0][arm].misaligned), f"misaligned[{ids[1]}]": str(sums[1][arm].misaligned),
             f"coherent[{ids[0]}]": str(sums[0][arm].coherent), f"coherent[{ids[1]}]": str(sums[1][arm].coherent)}
            for arm in sums[0]]
    keys = list(dict.fromkeys(ans.judge_key for ans in run.answers))

    both = [k for k in keys if all((j := v.get((k, m))) is not None and j.score is not None
                                   for v in verdicts for m in ("aligned", "coherent"))]
    mis = [[is_misaligned(v.get((k, "aligned")), v.get((k, "coherent")), mcfg) for k in keys] for v in verdicts]
    cls = [[judged_class(v.get((k, "aligned")), v.get((k, "coherent")), mcfg) for k in keys] for v in verdicts]

    def scores(v: dict[tuple[str, str], Judgment], m: str) -> list[float]:
        return [v[(k, m)].score for k in both]  # type: ignore[misc]

    cmp = Comparison(run.name, (ids[0], ids[1]), rows, len(both), cohen_kappa(mis[0], mis[1]),
                     cohen_kappa(cls[0], cls[1]),
                     spearman(scores(verdicts[0], "aligned"), scores(verdicts[1], "aligned")),
                     spearman(scores(verdicts[0], "coherent"), scores(verdicts[1], "coherent")),
                     (calls[0], calls[1]))
    cmp.saved_to = run.run_dir / f"judges-{'__'.join(j.replace(':', '-').replace('/', '-') for j in cmp.judges)}.json"
    cmp.saved_to.write_text(json.dumps(cmp.to_json(), indent=1))
    return cmp
