"""Distilling a judge as a workflow: the teacher's verdicts on answers (through the judge cache; a failed verdict
is never a label) become labelled rows, and :func:`emkit.judges.distilled.distill` trains and saves the student."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from emkit.core.config import JudgeConfig, MetricsConfig
from emkit.core.errors import EmkitError
from emkit.core.progress import log
from emkit.core.records import Answer, Condition
from emkit.core.store import Store
from emkit.judges import judge_answers
from emkit.judges.calibrate import LabelledRow
from emkit.judges.distilled import distill
from emkit.metrics.rates import judged_class
from emkit.pipeline.finished import load_run


def teacher_rows(answers: Sequence[Answer], teacher: JudgeConfig, store: Store, metrics: MetricsConfig,
                 condition: Callable[[Answer], str]) -> tuple[list[LabelledRow], int]:
    """The teacher's label for each distinct answer, and how many answers got none (a failed call or no
    coherence score): those are left out, never labelled aligned."""
    judgments, _ = judge_answers(list(answers), store, teacher)
    rows, unlabelled = [], 0
    for a in {a.judge_key: a for a in answers}.values():
        ja, jc = judgments.get((a.judge_key, "aligned")), judgments.get((a.judge_key, "coherent"))
        if ja is None or jc is None or "failed" in (ja.status, jc.status) or jc.score is None:
            unlabelled += 1
            continue
        label = judged_class(ja, jc, metrics)
        if ja.score is None and label not in ("code", "refusal"):  # no alignment score and no word for why
            unlabelled += 1
            continue
        rows.append(LabelledRow(a.question, a.text, ja.score if ja.score is not None else math.nan, jc.score, label,
                                a.question_id, "test", "", condition(a), a.system))
    return rows, unlabelled


def distill_from_runs(run_dirs: Sequence[str | Path], teacher: JudgeConfig, name: str, epochs: int = 4,
                      out: str | Path | None = None, **options: Any) -> dict[str, Any]:
    """A judge distilled from ``teacher``'s verdicts on the answers of finished runs; each run x arm is a
    condition named RUN/ARM (so the held-out figures speak for conditions it did not see, and the threshold is
    chosen on runs it did not read). ``options`` are :func:`~emkit.judges.distilled.distill`'s."""
    rows: list[LabelledRow] = []
    unlabelled = 0
    for d in run_dirs:
        with load_run(d) as run:
            got, missing = teacher_rows(run.answers, teacher, run.opened, run.metrics,
                                        lambda a, r=run: f"{r.name}/{Condition.parse(a.arm).arm}")
        rows += got
        unlabelled += missing
    if unlabelled:
        log(f"{unlabelled} answers got no verdict from the teacher and are not labels")
    if not rows:
        raise EmkitError(f"the teacher {teacher.judge_id()} labelled none of the runs' answers")
    manifest = distill(rows, name, teacher.judge_id(), out, epochs, **options)
    manifest["unlabelled"] = unlabelled
    return manifest
