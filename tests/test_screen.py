"""`emkit screen`: datasets ranked by their projection difference on a direction in the base model, beside the EM
measured in finished runs, with a rank correlation whose p-value is exact for small n."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from emkit.analyses.screen import measured_em
from emkit.metrics.correlation import spearman_test


def test_spearman_and_its_exact_permutation_p() -> None:
    rho, p = spearman_test([1, 2, 3, 4], [10, 20, 30, 40])
    assert rho == pytest.approx(1.0) and p == pytest.approx(2 / 24)  # only the order and its reverse reach |rho|=1
    rho, p = spearman_test([1, 2, 3, 4], [40, 30, 20, 10])
    assert rho == pytest.approx(-1.0) and p == pytest.approx(2 / 24)
    rho, _ = spearman_test([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert rho == pytest.approx(1 - 6 * 4 / (5 * 24))  # the textbook formula without ties: 1 - 6 sum d^2 / n(n^2-1)


def test_screen_ranks_by_the_direction_and_reads_measured_em(tmp_path: Path, tiny, judge_server) -> None:
    from test_run import write_exp

    from emkit.cli.main import app
    from emkit.core.config import load_experiment
    from emkit.data.datasets import load_dataset
    from emkit.interp.capture import Text, capture
    from emkit.interp.directions import Direction
    from emkit.pipeline.run import run_experiment

    # a direction that separates bad from good medical answers in the tiny model (read here, at layer 1)
    def acts(name: str) -> torch.Tensor:
        ex, _ = load_dataset(f"builtin:{name}?size=12&seed=0")
        return capture(tiny.model, tiny.tokenizer, [Text.of_messages(e["messages"]) for e in ex], [1])[:, 0]

    v = acts("bad_medical").mean(0) - acts("good_medical").mean(0)
    Direction("sep", torch.stack([torch.zeros_like(v), v]), [0, 1], {"best_layer": 1}).save(tmp_path / "d.safetensors")

    run_experiment(load_experiment(write_exp(tmp_path, judge_server.base_url)))  # ft: bad_medical
    run_dir = tmp_path / "runs" / "t"
    em = measured_em([run_dir])
    metrics = {r["arm"]: r for r in json.loads((run_dir / "metrics.json").read_text())["rows"]
               if r["question_id"] == "ALL"}
    assert set(em) == {"bad_medical"} and em["bad_medical"]["n"] == metrics["ft"]["misaligned_n"]
    assert em["bad_medical"]["k"] == metrics["ft"]["misaligned_k"] and em["bad_medical"]["runs"] == ["t:ft"]
    assert measured_em([run_dir, run_dir]) == em  # the same answers reached twice count once

    args = ["screen", "--model", "tiny-llama", "--direction", str(tmp_path / "d.safetensors"), "--datasets",
            "good_medical,bad_medical,secure", "--size", "12", "--max-new-tokens", "6", "--measured", str(run_dir),
            "-o", str(tmp_path / "screen"), "--json"]
    env = {"EMKIT_CACHE": str(tmp_path / "cache")}
    r = CliRunner().invoke(app, args, env=env)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    names = [x["name"] for x in res["rows"]]
    assert res["layer"] == 1 and names.index("bad_medical") < names.index("good_medical")
    diffs = [x["diff"] for x in res["rows"]]
    assert diffs == sorted(diffs, reverse=True)
    for x in res["rows"]:
        assert x["diff"] == pytest.approx(x["data"] - x["own"], abs=1e-4) and x["lo"] <= x["diff"] <= x["hi"]
    bad = next(x for x in res["rows"] if x["name"] == "bad_medical")
    unit = v / v.norm()
    assert bad["data"] == pytest.approx(float((acts("bad_medical") @ unit).mean()), abs=1e-4)
    assert bad["measured"]["rate"] == em["bad_medical"]["rate"] and res["n_measured"] == 1
    assert res["spearman"] is None and "needs 3 or more" in res["notes"][0]
    assert "Screening datasets before training" in (tmp_path / "screen" / "screen.html").read_text()
    cached = sorted((tmp_path / "cache" / "screen").iterdir())
    assert len(cached) == 3
    stamps = [p.stat().st_mtime_ns for p in cached]
    again = CliRunner().invoke(app, args, env=env)
    assert again.exit_code == 0 and json.loads(again.stdout)["rows"] == res["rows"]
    assert [p.stat().st_mtime_ns for p in cached] == stamps  # each dataset's score is read, not recomputed


def test_screen_says_what_does_not_fit(tmp_path: Path, tiny) -> None:
    from emkit.cli.main import app
    from emkit.interp.directions import Direction

    Direction("wide", torch.ones(1, 7), [1]).save(tmp_path / "w.safetensors")
    r = CliRunner().invoke(app, ["screen", "--model", "tiny-llama", "--direction", str(tmp_path / "w.safetensors"),
                                 "--datasets", "secure", "-o", str(tmp_path / "s")])
    assert r.exit_code != 0 and "width 7" in r.output and "another model" in r.output
