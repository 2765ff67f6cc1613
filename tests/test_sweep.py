"""Sweeps under a real local Ray (``ray.init`` on 2 CPUs): a grid of 2 datasets x 3 seeds on the tiny model, a
``kill -9`` of the whole sweep (driver and its Ray processes) part-way, and the resume doing only what was left."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scripted_judge_server import ScriptedJudge

from emkit.core.errors import EmkitError
from emkit.pipeline.grid import arm_groups, expand, load_sweep, run_sweep

ray = pytest.importorskip("ray", reason="the sweep extra: pip install -e '.[sweep]'")


def write_files(tmp_path: Path, judge_url: str) -> Path:
    (tmp_path / "exp.yaml").write_text(f"""
name: t
output_dir: runs
model: {{name: tiny-llama}}
arms:
  - name: base
  - name: ft
    dataset: builtin:bad_medical?size=8&seed=1
train: {{max_steps: 2, batch_size: 2, lr: 1.0e-3, lora: {{r: 1, target_modules: [down_proj]}}}}
eval: {{questions: core, samples_per_question: 1, max_new_tokens: 6, batch_size: 16}}
judge: {{backend: api, base_url: "{judge_url}", model: m, backoff_s: 0.01}}
""")
    (tmp_path / "sweep.yaml").write_text("""
name: grid
experiment: exp.yaml
grid:
  arms.ft.dataset: ["builtin:bad_medical?size=8&seed=1", "builtin:good_medical?size=8&seed=1"]
  train.seed: [0, 1, 2]
resources: {num_cpus: 1}
""")
    return tmp_path / "sweep.yaml"


def done_groups(tmp_path: Path) -> int:
    db = tmp_path / "runs" / "emkit.sqlite"
    if not db.is_file():
        return 0
    with sqlite3.connect(db, timeout=30) as c:
        try:
            return c.execute("SELECT COUNT(*) FROM stages WHERE stage='sweep'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_grid_expands_with_names_and_groups(tmp_path: Path) -> None:
    sweep = load_sweep(write_files(tmp_path, "http://127.0.0.1:9/v1"))
    points = expand(sweep)
    assert len(points) == 6 and len({p.name for p in points}) == 6
    assert {(p.params["train.seed"], p.experiment.train.seed) for p in points} == {(s, s) for s in (0, 1, 2)}
    assert {p.experiment.arms[1].dataset for p in points} == set(sweep.grid["arms.ft.dataset"])
    assert expand(sweep)[0].name == points[0].name  # a point's name is stable
    assert arm_groups(points[0].experiment) == [["base"], ["ft"]]
    (tmp_path / "bad.yaml").write_text("name: g\nexperiment: exp.yaml\ngrid: {train.lr: [-1]}\n")
    with pytest.raises(EmkitError, match=r"sweep point \{'train.lr': -1\}.*train.lr"):
        expand(load_sweep(tmp_path / "bad.yaml"))


def test_sweep_killed_then_resumed_does_only_what_was_left(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    path = write_files(tmp_path, judge_server.base_url)
    proc = subprocess.Popen([sys.executable, "-m", "emkit", "sweep", str(path), "--num-cpus", "2"], cwd=tmp_path,
                            env={**os.environ, "EMKIT_QUIET": "1"}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while done_groups(tmp_path) < 3:
        assert proc.poll() is None and time.time() < deadline, "the sweep ended or stalled before the kill"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and every Ray process it started
    proc.wait()
    before = done_groups(tmp_path)
    assert 3 <= before < 12, before
    try:
        res = run_sweep(load_sweep(path), num_cpus=2)
    finally:
        ray.shutdown()
    assert res.tasks_run == 12 - before  # finished groups were not run again
    frame = res.frame()
    assert len(frame) == 12 and set(frame["arm"]) == {"base", "ft"} and (frame["n"] == 8).all()
    # the driver's store holds every point's answers, though no worker wrote to it
    with sqlite3.connect(tmp_path / "runs" / "emkit.sqlite") as c:
        runs = {r[0] for r in c.execute("SELECT DISTINCT run FROM samples")}
    assert runs == {p.name for p in res.points}
    # a second call runs nothing
    try:
        again = run_sweep(load_sweep(path), num_cpus=2)
    finally:
        ray.shutdown()
    assert again.tasks_run == 0 and again.frame().equals(frame)
