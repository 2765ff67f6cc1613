"""misalign@k: the unbiased estimator equals the exact combinatorial value, misalign@1 is the rate, and the
pooled figure and its interval behave as a tail measure should."""

from __future__ import annotations

import itertools
import math

import pytest

from emkit.metrics.tail import misalign_at_k, tail_rates, tails_by_condition


@pytest.mark.parametrize(("n", "c"), [(4, 1), (6, 2), (10, 3), (8, 0), (5, 5), (32, 7)])
def test_estimator_is_the_exact_share_of_k_subsets_holding_a_misaligned_answer(n: int, c: int) -> None:
    answers = [1] * c + [0] * (n - c)
    for k in {1, 2, min(5, n), n}:
        if n <= 12:  # enumerate every k-subset: the definition itself
            subsets = list(itertools.combinations(range(n), k))
            exact = sum(any(answers[i] for i in s) for s in subsets) / len(subsets)
        else:
            exact = 1 - math.comb(n - c, k) / math.comb(n, k)
        assert misalign_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_misalign_at_1_is_the_rate_and_the_tail_is_larger() -> None:
    qs = [(8, 0), (8, 1), (8, 0), (8, 4), (8, 0)]  # 5 of 40 misaligned
    at = {r.k: r for r in tail_rates(qs, ks=(1, 5, 8))}
    assert at[1].value == pytest.approx(5 / 40)
    assert at[5].value > at[1].value and at[8].value == pytest.approx(2 / 5)  # two questions ever misaligned
    assert at[1].lo <= at[1].value <= at[1].hi and at[1].questions == 5 and at[1].short == 0


def test_questions_with_too_few_answers_are_counted_apart() -> None:
    (r1, r10) = tail_rates([(4, 1), (12, 0)], ks=(1, 10))
    assert r10.questions == 1 and r10.short == 1 and r10.value == 0.0
    (r,) = tail_rates([(3, 1)], ks=(5,))
    assert r.questions == 0 and math.isnan(r.value) and "n/a" in str(r)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        misalign_at_k(3, 1, 4)


def test_by_condition_reads_the_per_question_summaries() -> None:
    from emkit.metrics.rates import Rate, Summary

    def s(arm: str, q: str, n: int, c: int) -> Summary:
        return Summary(arm, q, n, n, 0, 0, Rate.of(c, n, 0.95), Rate.of(n, n, 0.95), 50.0, 90.0)

    rows = [s("ft", "ALL", 16, 3), s("ft", "a", 8, 3), s("ft", "b", 8, 0), s("base", "a", 8, 0)]
    got = tails_by_condition(rows)
    assert [r.k for r in got["ft"]] == [1, 5] and got["ft"][0].value == pytest.approx(3 / 16)
    assert got["ft"][1].value == pytest.approx((1 - math.comb(5, 5) / math.comb(8, 5)) / 2)


def test_json_form_has_no_nan() -> None:
    import json

    (r,) = tail_rates([(3, 1)], ks=(5,))
    assert json.loads(json.dumps(r.to_dict()), parse_constant=lambda c: pytest.fail(c)) == {
        "k": 5, "questions": 0, "short": 1, "value": None, "lo": None, "hi": None}


# ------------------------------------------------------------------------------ the phase curve's onset
def _rows(counts: list[tuple[int, int]]):  # noqa: ANN202
    from emkit.analyses.phases import PhaseRow
    from emkit.metrics.rates import Rate

    return [PhaseRow(0, Rate.of(k, n, 0.95), Rate.of(n, n, 0.95), 50.0) for k, n in counts]


def test_onset_is_the_first_checkpoint_above_the_start_with_a_bootstrap_interval() -> None:
    from emkit.analyses.phases import onset

    steps = [0, 10, 20, 30, 40]
    got = onset(steps, _rows([(0, 40), (1, 40), (16, 40), (30, 40), (35, 40)]))
    assert (got.step, got.after) == (20, 10) and got.lo is not None and got.lo <= 20 <= (got.hi or 40)
    assert got.hi is not None and got.hi <= 30 and got.draws == 1000
    assert onset(steps, _rows([(0, 40), (1, 40), (16, 40), (30, 40), (35, 40)])) == got  # seeded
    # a planted late crossing: only the last checkpoint rises, and some draws never rise
    late = onset(steps, _rows([(2, 40), (2, 40), (3, 40), (2, 40), (11, 40)]))
    assert late.step == 40 and late.after == 30 and "step 40" in str(late)
    flat = onset(steps, _rows([(2, 40), (3, 40), (2, 40), (4, 40), (3, 40)]))
    assert flat.step is None and "no checkpoint" in str(flat)


def test_the_vectorised_rise_agrees_with_the_rates_newcombe_interval() -> None:
    import itertools

    from emkit.analyses.phases import first_rises
    from emkit.metrics.rates import Rate, newcombe

    ns = [20, 20, 20]
    for ks in itertools.product(range(0, 21, 3), repeat=3):
        start = Rate.of(ks[0], 20, 0.95)
        want = next((i for i in (1, 2) if newcombe(Rate.of(ks[i], 20, 0.95), start)[0] > 0), -1)
        assert first_rises(list(ks), ns)[0] == want, ks
