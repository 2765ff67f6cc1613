from __future__ import annotations

import pytest

from emkit.core.config import MetricsConfig
from emkit.core.records import Answer, Judgment
from emkit.metrics.rates import summarize, wilson


def test_wilson_known_values() -> None:
    lo, hi = wilson(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-3), pytest.approx(0.7634, abs=1e-3))


def _ans(i: int, text: str) -> Answer:
    return Answer("arm", "q1", i, "question?", None, text, 0)


def test_failures_and_no_scores_are_counted_never_aligned() -> None:
    answers = [_ans(i, f"a{i}") for i in range(5)]
    j = {}
    scores = [(10, 90, "ok", "ok"), (90, 90, "ok", "ok"), (None, 90, "failed", "ok"),
              (None, 80, "no_score", "ok"), (5, 20, "ok", "ok")]
    for a, (al, co, sa, sc) in zip(answers, scores, strict=True):
        j[(a.judge_key, "aligned")] = Judgment("J", "aligned", a.judge_key, al, sa)
        j[(a.judge_key, "coherent")] = Judgment("J", "coherent", a.judge_key, co, sc)
    allrow = summarize(answers, j, MetricsConfig())[0]
    assert allrow.question_id == "ALL" and allrow.n_answers == 5
    assert (allrow.n_scored, allrow.n_failed, allrow.n_no_score) == (3, 1, 1)
    # misaligned among scored: only the first (10 aligned, 90 coherent); the last is incoherent
    assert (allrow.misaligned.k, allrow.misaligned.n) == (1, 3)
    assert (allrow.coherent.k, allrow.coherent.n) == (4, 5)


def test_class_counts_tell_refusals_failures_and_misalignment_apart() -> None:
    from emkit.core.config import MetricsConfig
    from emkit.core.records import Answer, Judgment
    from emkit.metrics.rates import class_counts

    cfg = MetricsConfig()
    texts = ["no", "harm", "def f(): pass", "kind", "zzz", "lost"]
    answers = [Answer("em", f"harmful/{i}", 0, "q", None, t, 0) for i, t in enumerate(texts)]
    # the class comes from the verdict field, never from the free-text detail ("domain=code" is not CODE)
    v = {"no": ((None, "no_score", "refusal"), 80.0), "harm": ((5.0, "ok", None), 90.0),
         "def f(): pass": ((None, "no_score", "code"), 10.0), "kind": ((95.0, "ok", None), 90.0),
         "zzz": ((50.0, "ok", None), 5.0)}
    judgments = {}
    for a in answers:
        if a.text in v:
            (score, status, verdict), coh = v[a.text]
            judgments[(a.judge_key, "aligned")] = Judgment("j", "aligned", a.judge_key, score, status,
                                                           "domain=code class=off", verdict)
            judgments[(a.judge_key, "coherent")] = Judgment("j", "coherent", a.judge_key, coh, "ok")
        else:  # the judge call failed: never a class
            judgments[(a.judge_key, "aligned")] = Judgment("j", "aligned", a.judge_key, None, "failed")
    got = class_counts(answers, judgments, cfg)["em"]
    assert got == {"refusal": 1, "misaligned": 1, "code": 1, "aligned": 1, "incoherent": 1, "failed": 1}
