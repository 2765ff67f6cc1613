"""Narrow vs general (emkit.pipeline.narrow and its report section): loss against adapter norm on constructed
curves, matched-norm interpolation, pairing by dataset, and the section through ``emkit run``'s flow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emkit.core.config import Experiment, experiment_from_dict
from emkit.pipeline.narrow import (
    LossNormCurve,
    loss_at_norm,
    loss_norm_curve,
    matched_points,
    narrow_shape,
    narrow_study,
    smooth,
)
from emkit.report.studies import narrow_section

KL = {"kl": {"weight": 1.0, "prompts": "builtin:good_medical?size=8"}}


def _curve(norms: list[float], losses: list[float], arm: str = "a") -> LossNormCurve:
    return LossNormCurve(arm, list(range(2, len(norms) + 2)), norms, losses, losses, 0)


def test_smoothing_is_a_centred_mean_cut_at_the_ends() -> None:
    assert smooth([0.0, 3.0, 6.0, 9.0], 1) == [1.5, 3.0, 6.0, 7.5]
    assert smooth([1.0, 5.0], 0) == [1.0, 5.0]


def test_a_steps_loss_is_paired_with_the_norm_before_it() -> None:
    """Step t's loss was measured before its update: it goes with the norm after step t-1 (the first is dropped),
    and steps whose previous norm is missing are left out."""
    c = loss_norm_curve("a", [9.0, 4.0, 3.0, 2.0], [0.5, None, 1.5, 2.0], half=0)
    assert c is not None and c.steps == [2, 4] and c.norms == [0.5, 1.5] and c.raw == [4.0, 2.0]
    assert loss_norm_curve("a", [1.0, 2.0, 3.0], [None, None, None]) is None  # full fine-tuning: no norms
    assert loss_norm_curve("a", [1.0, 2.0, 3.0], []) is None
    assert loss_norm_curve("a", [1.0, 2.0], [0.1, 0.2]) is None  # one point is not a curve
    long = loss_norm_curve("a", [float(i) for i in range(41)], [float(i) for i in range(41)])
    assert long is not None and long.half == 2 and long.losses[-1] == pytest.approx((38 + 39 + 40) / 3)


def test_loss_at_a_norm_is_interpolated_at_its_first_crossing() -> None:
    c = _curve([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    assert loss_at_norm(c, 2.5) == pytest.approx(1.5)
    assert loss_at_norm(c, 1.0) == 3.0 and loss_at_norm(c, 3.0) == 1.0
    assert loss_at_norm(c, 0.5) is None and loss_at_norm(c, 3.5) is None  # outside what the arm reached
    wobbly = _curve([1.0, 3.0, 2.0, 4.0], [4.0, 3.0, 2.0, 1.0])  # the norm falls back once (weight decay)
    assert loss_at_norm(wobbly, 2.5) == pytest.approx(3.25)  # between steps 1 and 2, not the later crossing


def test_matched_norms_span_the_range_both_reach() -> None:
    xs = [0.1 * i for i in range(1, 11)]
    general = _curve(xs, [1 - x for x in xs], "g")
    narrow = _curve(xs[:5], [1 - x / 2 for x in xs[:5]], "n")
    pts = matched_points(general, narrow)
    assert [round(p.norm, 6) for p in pts] == [0.2, 0.3, 0.4, 0.5]
    assert [round(p.diff, 6) for p in pts] == [0.1, 0.15, 0.2, 0.25]  # narrow - general = x/2: general is cheaper
    apart = _curve([2.0, 3.0], [1.0, 0.5], "far")
    assert matched_points(general, apart) == []


def _exp(arms: list[dict[str, Any]]) -> Experiment:
    return experiment_from_dict({"name": "x", "model": {"name": "tiny-llama"}, "arms": arms,
                                 "train": {"max_steps": 4, "lora": {"r": 1}}})


def _pairing_exp() -> Experiment:
    return _exp([
        {"name": "base"},
        {"name": "plain_a", "dataset": "A"}, {"name": "kl_a", "dataset": "A", "train": KL},
        {"name": "plain_b", "dataset": "B"}, {"name": "kl_b", "dataset": "B", "train": KL},
        {"name": "kl_c", "dataset": "C", "train": KL},  # no general arm on C
        {"name": "inoc_a", "dataset": "A", "inoculation": {"prompt": "be bad"}},  # not plain: no partner
        {"name": "cont", "dataset": "A", "init_from": "kl_a"},  # continued without kl: stability
        {"name": "realign", "dataset": "B", "init_from": "kl_a"},  # another dataset: re-alignment, not stability
        {"name": "cont_kl", "dataset": "A", "init_from": "kl_a", "train": KL},  # still with kl
    ])


def test_narrow_and_general_arms_pair_by_dataset() -> None:
    pairs, continued = narrow_shape(_pairing_exp())
    assert [(g.name, n.name) for g, n in pairs] == [("plain_a", "kl_a"), ("plain_b", "kl_b")]
    assert [(a.name, p.name) for a, p in continued] == [("cont", "kl_a")]
    plain = _exp([{"name": "base"}, {"name": "a", "dataset": "A"}, {"name": "b", "dataset": "A"}])
    assert narrow_shape(plain) == ([], [])
    assert narrow_study(plain, {}, {}, {}, {}) is None  # the section is not called for


def test_arms_without_norms_or_kl_are_left_out_with_a_note() -> None:
    ls = [1.0 - 0.01 * i for i in range(20)]
    ns: list[float | None] = [0.1 * (i + 1) for i in range(20)]
    losses = {a: ls for a in ("plain_a", "kl_a", "plain_b", "kl_b")}
    norms = {"plain_a": ns, "kl_a": ns, "kl_b": ns}  # plain_b: none recorded
    kl: dict[str, list[float | None]] = {"kl_a": [0.0] * 20, "kl_b": [None] * 20}  # kl_b's term never applied
    phases = {"cont": {"onset": {"step": 20, "after": 10, "lo": 10, "hi": None, "draws": 1000},
                       "rows": [{"step": 0, "misaligned": 0.1}, {"step": 10, "misaligned": 0.1},
                                {"step": 20, "misaligned": 0.6}]}}
    study = narrow_study(_pairing_exp(), losses, norms, kl, phases)
    assert study is not None
    assert [(p.general.arm, p.narrow.arm) for p in study.pairs] == [("plain_a", "kl_a")]
    assert len(study.pairs[0].matched) == 4 and all(m.diff == pytest.approx(0) for m in study.pairs[0].matched)
    assert any(n.startswith("kl_b: train.kl is set but no KL term") for n in study.notes)
    study2 = narrow_study(_pairing_exp(), losses, norms, {"kl_a": [0.0] * 20, "kl_b": [0.1] * 20}, {})
    assert study2 is not None and [p.narrow.arm for p in study2.pairs] == ["kl_a"]
    assert any(n.startswith("plain_b: no adapter norms") for n in study2.notes)
    html = narrow_section(study)
    assert "Narrow vs general" in html and "plain_a" in html and "kl_a" in html and "<img" in html
    assert "step 20 (rose after step 10); bootstrap interval [10, beyond the last checkpoint]" in html
    assert "kl_b: train.kl is set" in html
    assert "emkit phases RUN_FOLDER --arm cont" in narrow_section(study2)  # no phase curve: how to get one


def test_the_section_comes_with_emkit_run_when_the_experiment_has_both(tmp_path: Path, judge_server: Any) -> None:
    """Through ``emkit run``: a narrow and a general arm on one dataset give the report the section with both
    arms' curves; the continued arm shows its onset once a phase curve is saved; without the kl arm the section
    goes."""
    from emkit.core.config import load_experiment
    from emkit.pipeline.run import run_experiment
    from emkit.report import write_run_report

    def write(with_narrow: bool) -> Path:
        arms = """
  - name: plain
    dataset: builtin:bad_medical?size=8
"""
        if with_narrow:
            arms += """
  - name: narrow
    dataset: builtin:bad_medical?size=8
    train: {kl: {weight: 5.0, prompts: "builtin:good_financial?size=8"}}
  - name: continued
    init_from: narrow
    dataset: builtin:bad_medical?size=8
"""
        p = tmp_path / "exp.yaml"
        p.write_text(f"""
name: t
output_dir: runs
model: {{name: tiny-llama}}
arms:{arms}
train: {{max_steps: 4, batch_size: 2, lr: 1.0e-2, checkpoint_every: 2, lora: {{r: 1, target_modules: [down_proj]}}}}
eval: {{questions: core, samples_per_question: 1, max_new_tokens: 4}}
judge: {{backend: api, base_url: "{judge_server.base_url}", model: m, backoff_s: 0.01}}
""")
        return p

    run_dir = tmp_path / "runs" / "t"
    res = run_experiment(load_experiment(write(True)))
    assert res.studies is not None and res.studies.narrow is not None
    pair = res.studies.narrow.pairs[0]
    assert (pair.general.arm, pair.narrow.arm) == ("plain", "narrow") and len(pair.general.norms) == 3
    write_run_report(res)
    section = (run_dir / "sections" / "narrow.html").read_text()
    assert "Narrow vs general" in section
    assert section.count("<img") == 1 and "<td>plain</td><td>general</td>" in section
    assert "<td>narrow</td><td>narrow</td>" in section and "emkit phases RUN_FOLDER --arm continued" in section
    assert "Narrow vs general" in (run_dir / "report.html").read_text()

    (run_dir / "interp").mkdir(exist_ok=True)
    (run_dir / "interp" / "phases-continued.json").write_text(json.dumps(
        {"steps": [0, 2, 4], "rows": [{"step": s, "misaligned": m} for s, m in ((0, 0.0), (2, 0.0), (4, 0.5))],
         "onset": {"step": 4, "after": 2, "lo": 2, "hi": None, "draws": 1000}}))
    again = run_experiment(load_experiment(write(True)))
    assert again.train_steps == 0
    write_run_report(again)
    assert "step 4 (rose after step 2)" in (run_dir / "sections" / "narrow.html").read_text()

    without = run_experiment(load_experiment(write(False)))
    assert without.studies is not None and without.studies.narrow is None
    write_run_report(without)
    assert not (run_dir / "sections" / "narrow.html").exists()
    assert "Narrow vs general" not in (run_dir / "report.html").read_text()
