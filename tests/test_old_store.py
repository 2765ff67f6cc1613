"""A store written before the package move opens with the moved code: fingerprints and caches of existing
runs stay valid. The fixture (tests/data/store-425f805, see its README.txt) is a tiny experiment that commit
425f805 ran to the end: tiny-llama, a base arm and a LoRA arm, two prompt variants, 3 questions x 2 answers,
the offline judge. Here its finished run is read back, the experiment is run again with training, sampling
and judging made impossible (nothing may be redone), and the view's data layer reads it."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from emkit.core.config import load_experiment
from emkit.judges.offline import OfflineJudge, _calibration_digest
from emkit.pipeline.finished import load_run
from emkit.pipeline.run import run_experiment
from emkit.samplers import hf
from emkit.trainers import local
from emkit.view.data import RunIndex

FIXTURE = Path(__file__).parent / "data" / "store-425f805"
#: where commit 425f805 wrote the fixture: the old store names this folder in absolute paths
ORIGIN = "/tmp/emkit-store-425f805"
LABELS = ["base@plain", "base@evil", "ft@plain", "ft@evil"]
JUDGE = "offline:minilm-lora-v7:fc71db8142"  # the offline judge's cache identity when the fixture was made
#: (condition, stage) -> the fingerprint commit 425f805 finished it with
STAGES = {("base@plain", "sample"): "31565add39ee8a62", ("base@evil", "sample"): "8589b6a6f2837bfa",
          ("ft", "train"): "18f4f3860bfef43b", ("ft@plain", "sample"): "a8c30eeff58075cd",
          ("ft@evil", "sample"): "0b2f820c9798a593"}


@pytest.fixture()
def old(tmp_path: Path) -> Path:
    """The fixture copied to tmp_path, its absolute paths (stage infos, the run's base_dir) moved along with
    it: emkit never rewrites them, and without this a copy would reach the trainer again (old code too)."""
    dest = tmp_path / "store-425f805"
    shutil.copytree(FIXTURE, dest)
    cfg = dest / "store" / "t" / "config.yaml"
    assert ORIGIN in cfg.read_text()
    cfg.write_text(cfg.read_text().replace(ORIGIN, str(dest)))
    with closing(sqlite3.connect(dest / "store" / "emkit.sqlite")) as db:
        found = db.execute("SELECT COUNT(*) FROM stages WHERE instr(info, ?) > 0", (ORIGIN,)).fetchone()
        assert found == (5,)
        db.execute("UPDATE stages SET info = replace(info, ?, ?)", (ORIGIN, str(dest)))
        db.execute("UPDATE runs SET config = replace(config, ?, ?)", (ORIGIN, str(dest)))
        db.commit()
    return dest


def _refuse(what: str) -> Any:
    def f(*_: Any, **__: Any) -> None:
        raise AssertionError(f"{what} was called on a store whose stages are all done")
    return f


@pytest.fixture()
def nothing_trained_or_sampled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training and sampling raise."""
    monkeypatch.setattr(local.LocalTrainer, "train", _refuse("the LoRA trainer"))
    monkeypatch.setattr(local, "train", _refuse("local.train"))
    monkeypatch.setattr(hf.HFSampler, "sample", _refuse("the hf sampler"))
    monkeypatch.setattr(hf.HFSampler, "loaded", _refuse("the hf sampler's model load"))
    monkeypatch.setattr(hf, "sample", _refuse("hf.sample"))


@pytest.fixture()
def fixture_judge(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The offline judge under the version the fixture was judged with (v7; v8 changed only its off-topic test,
    so its identity, and the cache key of its verdicts, is another): what is tested here is that the code move
    keeps fingerprints and caches valid, not that a new judge reuses an old one's verdicts (it must not)."""
    monkeypatch.setattr(OfflineJudge, "VERSION", "minilm-lora-v7")
    _calibration_digest.cache_clear()
    yield
    _calibration_digest.cache_clear()


@pytest.fixture()
def nothing_redone(monkeypatch: pytest.MonkeyPatch, nothing_trained_or_sampled: None, fixture_judge: None) -> None:
    """Training, sampling and judging raise: a finished store must need none of them."""
    monkeypatch.setattr(OfflineJudge, "__init__", _refuse("the offline judge"))


def _tables(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What a re-run must leave as it is: stage fingerprints and infos, datasets, samples, verdicts."""
    with closing(sqlite3.connect(store / "emkit.sqlite")) as db:
        return {
            "stages": db.execute("SELECT run, arm, stage, fingerprint, info FROM stages "
                                 "ORDER BY arm, stage").fetchall(),
            "datasets": db.execute("SELECT * FROM datasets ORDER BY arm").fetchall(),
            "samples": db.execute("SELECT * FROM samples ORDER BY rowid").fetchall(),
            "judgments": db.execute("SELECT judge, metric, key, score, status, detail, created, verdict "
                                    "FROM judgments ORDER BY rowid").fetchall(),
        }


def _plain(x: Any) -> Any:
    """JSON data with NaN made comparable (NaN != NaN)."""
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


def _saved_rows(run_dir: Path) -> list[dict[str, Any]]:
    return _plain(json.loads((run_dir / "metrics.json").read_text())["rows"])


def test_finished_run_reads_back(old: Path, nothing_redone: None) -> None:
    run = load_run(old / "store" / "t")
    try:
        assert run.name == "t" and len(run.answers) == 24
        assert {x: sum(a.arm == x for a in run.answers) for x in LABELS} == dict.fromkeys(LABELS, 6)
        assert run.experiment.judge.judge_id() == JUDGE
        adapter = old / "store" / "t" / "arms" / "ft" / f"train-{STAGES[('ft', 'train')]}" / "adapter"
        assert run.weights("ft") == adapter and adapter.is_dir()
        assert run.weights("base") is None
        # every verdict comes from the cache (the judge cannot be built): 13 distinct answers x 2 metrics
        judged = run.judged()
        keys = {a.judge_key for a in run.answers}
        assert len(keys) == 13 and len(judged) == 26 and set(judged) == {(k, m) for k in keys
                                                                           for m in ("aligned", "coherent")}
        assert all(j.judge == JUDGE and j.status in ("ok", "no_score") for j in judged.values())
    finally:
        run.store.close()


def test_rerun_redoes_nothing_and_gives_the_saved_metrics(old: Path, nothing_redone: None) -> None:
    run_dir = old / "store" / "t"
    saved_json = _plain(json.loads((run_dir / "metrics.json").read_text()))
    saved_frame = pd.read_parquet(run_dir / "metrics.parquet")
    saved_comparisons = json.loads((run_dir / "comparisons.json").read_text())
    before = _tables(old / "store")
    assert {(arm, stage): fp for _, arm, stage, fp, _ in before["stages"]} == STAGES
    losses = next(json.loads(info)["losses"] for _, _, stage, _, info in before["stages"] if stage == "train")

    res = run_experiment(load_experiment(old / "experiment.yaml"))

    assert (res.train_steps, res.answers_generated, res.judge_calls) == (0, 0, 0)
    assert _tables(old / "store") == before  # no stage re-finished, no fingerprint changed, nothing re-judged
    assert len(res.answers) == 24 and len(res.judgments) == 26
    got = _plain(json.loads((run_dir / "metrics.json").read_text()))
    assert {k: got[k] for k in saved_json} == saved_json  # what the old run saved, unchanged
    # computed since from the same verdicts (misalign@k) and stage records (steps; the old run timed no step)
    assert set(got) - set(saved_json) == {"misalign_at_k", "training"}
    assert got["training"] == {"ft": {"steps": len(losses), "seconds": None}}
    for arm, tails in got["misalign_at_k"].items():
        per_q = [r["misaligned_rate"] for r in saved_json["rows"]  # questions with a scored answer
                 if r["arm"] == arm and r["question_id"] != "ALL" and r["misaligned_n"]]
        assert [t["value"] for t in tails if t["k"] == 1] == [pytest.approx(sum(per_q) / len(per_q))]
    assert set(got["misalign_at_k"]) == {"base@evil", "base@plain", "ft@evil", "ft@plain"}
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "metrics.parquet"), saved_frame, check_exact=True)
    assert _plain([s.flat() for s in res.summaries]) == saved_json["rows"]
    assert json.loads((run_dir / "comparisons.json").read_text()) == saved_comparisons
    assert res.losses == {"ft": losses}  # the old training's losses, read back from its stage


def test_a_new_offline_judge_version_judges_again_and_redoes_nothing_else(
        old: Path, nothing_trained_or_sampled: None) -> None:
    """Under today's offline judge (another version than the fixture's) the answers are judged again, once, under
    the new identity; the old verdicts stay in the store beside them, and no stage before judging is redone."""
    before = _tables(old / "store")
    res = run_experiment(load_experiment(old / "experiment.yaml"))
    assert (res.train_steps, res.answers_generated) == (0, 0) and res.judge_calls == 13  # distinct answers
    after = _tables(old / "store")
    assert after["samples"] == before["samples"] and after["datasets"] == before["datasets"]
    assert after["judgments"][: len(before["judgments"])] == before["judgments"]
    new = {j[0] for j in after["judgments"][len(before["judgments"]):]}
    assert new == {OfflineJudge().id} and JUDGE not in new and len(after["judgments"]) == len(before["judgments"]) + 26


def test_view_reads_the_old_run(old: Path) -> None:
    cat = RunIndex(old / "store")
    assert cat.run_names() == ["t"]
    view = cat.run("t")
    assert [c.label for c in view.conditions] == LABELS
    assert len(view.answers) == 24 and view.judges == [JUDGE] and view.judge == JUDGE
    assert all(cls != "failed" for a in view.answers for (_, _, cls) in a.verdicts.values())
    saved = {r["arm"]: r for r in _saved_rows(old / "store" / "t") if r["question_id"] == "ALL"}
    got = {s.arm: s for s in view.overall(JUDGE)}
    assert set(got) == set(saved) == set(LABELS)
    for label, s in got.items():
        r = saved[label]
        assert (s.misaligned.k, s.misaligned.n, s.coherent.k, s.coherent.n) == (
            r["misaligned_k"], r["misaligned_n"], r["coherent_k"], r["coherent_n"])
    assert view.report == old / "store" / "t" / "report.html"
