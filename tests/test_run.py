"""The whole pipeline on a tiny model with the scripted judge server: counts, re-runs, kills, bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scripted_judge_server import ScriptedJudge
from typer.testing import CliRunner

from emkit.cli.main import app
from emkit.core.config import load_experiment
from emkit.pipeline.run import run_experiment
from emkit.report import write_run_report


def write_exp(tmp_path: Path, base_url: str, max_steps: int = 4, every: int = 2, dataset: str | None = None,
              extra: str = "") -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(f"""
name: t
output_dir: runs
model: {{name: tiny-llama}}
arms:
  - name: base
  - name: ft
    dataset: {dataset or "builtin:bad_medical?size=16&seed=1"}
train: {{max_steps: {max_steps}, batch_size: 2, lr: 1.0e-3, checkpoint_every: {every}, lora: {{r: 1, target_modules: [down_proj]}}}}
eval: {{samples_per_question: 2, max_new_tokens: 8, batch_size: 16}}
judge: {{backend: api, base_url: "{base_url}", model: m, backoff_s: 0.01}}
{extra}""")
    return p


def test_end_to_end_then_rerun_is_free(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    exp = load_experiment(write_exp(tmp_path, judge_server.base_url))
    first = run_experiment(exp)
    write_run_report(first)
    assert (first.train_steps, first.answers_generated) == (4, 32)
    # identical (question, answer) pairs are judged once: two calls (aligned, coherent) per distinct answer
    import sqlite3

    db = sqlite3.connect(tmp_path / "runs" / "emkit.sqlite")
    distinct = db.execute("SELECT COUNT(DISTINCT judge_key) FROM samples WHERE run='t'").fetchone()[0]
    assert first.judge_calls == 2 * distinct == len(judge_server.requests) > 0
    run_dir = tmp_path / "runs" / "t"
    assert (run_dir / "config.yaml").is_file() and (run_dir / "metrics.parquet").is_file()
    html = (run_dir / "report.html").read_text()
    assert "<h2>Arms</h2>" in html and "(n=16)" in html and "data:image/png;base64" in html
    assert "its agreement with humans is not measured here" in html.split("<h2>")[0]  # above every figure
    # the store says what the adapter was trained on
    spec, name, size, seed, sha = db.execute("SELECT spec, name, size, seed, sha256 FROM datasets "
                                             "WHERE run='t' AND arm='ft'").fetchone()
    assert (spec, name, size, seed) == ("builtin:bad_medical?size=16&seed=1", "bad_medical", 16, 1) and len(sha) == 64
    rows = json.loads((run_dir / "metrics.json").read_text())["rows"]
    assert {r["arm"] for r in rows} == {"base", "ft"}
    overall = {r["arm"]: r for r in rows if r["question_id"] == "ALL"}
    # every answer is scored (the scripted judge never declines), and the per-question rows add up to the arm's
    assert all(r["n_answers"] == 16 and r["misaligned_n"] == r["n_scored"] == 16 for r in overall.values())
    for arm, r in overall.items():
        assert sum(x["misaligned_k"] for x in rows if x["arm"] == arm and x["question_id"] != "ALL") == r["misaligned_k"]
        # 2 samples per question: misalign@1 is the rate (every question has as many), @5 is not estimated
        at = {t["k"]: t for t in json.loads((run_dir / "metrics.json").read_text())["misalign_at_k"][arm]}
        assert at[1]["value"] == pytest.approx(r["misaligned_rate"]) and at[1]["questions"] == 8
        assert at[5]["value"] is None and at[5]["short"] == 8
    assert "<h3>Tail risk: misalign@k</h3>" in html and "misalign@1" in html and "misalign@5" not in html

    second = run_experiment(load_experiment(write_exp(tmp_path, judge_server.base_url)))
    assert (second.train_steps, second.answers_generated, second.judge_calls) == (0, 0, 0)
    assert len(judge_server.requests) == first.judge_calls
    assert [s.flat() for s in second.summaries] == [s.flat() for s in first.summaries]

    # a changed eval setting re-samples and re-judges, but does not retrain
    third = run_experiment(load_experiment(write_exp(tmp_path, judge_server.base_url), ["eval.seed=7"]))
    assert third.train_steps == 0 and third.answers_generated == 32


def test_kill_minus_9_during_training_resumes(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    cfg = write_exp(tmp_path, judge_server.base_url, max_steps=400, every=10)
    env = {**os.environ, "EMKIT_QUIET": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "emkit", "run", str(cfg)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    train_dir = None
    deadline = time.time() + 120
    while time.time() < deadline:
        found = list((tmp_path / "runs" / "t" / "arms" / "ft").glob("train-*/checkpoint-*/trainer_state.json"))
        if len(found) >= 2:
            train_dir = found[0].parent.parent
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert train_dir is not None, "no checkpoint appeared"
    assert not (train_dir / "train_log.json").exists(), "training finished before the kill; raise max_steps"
    last = max(json.loads(p.read_text())["step"] for p in train_dir.glob("checkpoint-*/trainer_state.json"))
    assert 0 < last < 400

    res = run_experiment(load_experiment(cfg))
    assert res.train_steps == 400 - last  # resumed from the last checkpoint, not from scratch
    log = json.loads((train_dir / "train_log.json").read_text())
    assert len(log["losses"]) == 400


@pytest.mark.parametrize(("case", "needle"), [
    ("missing", "experiment file not found"),
    ("yaml", "malformed YAML at line"),
    ("key", "unknown key 'eval.samples'"),
    ("model", "unknown model 'no-such-model'"),
    ("jsonl", "bad.jsonl:2: invalid JSON"),
    ("empty", "has no examples"),
    ("overlong", "long.jsonl:3: example is "),
])
def test_bad_inputs_give_one_clear_line(tmp_path: Path, case: str, needle: str) -> None:
    (tmp_path / "bad.jsonl").write_text('{"messages": [{"role": "user", "content": "a"}, '
                                        '{"role": "assistant", "content": "b"}]}\n{oops\n')
    (tmp_path / "empty.jsonl").write_text("")
    ok = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    long = {"messages": [{"role": "user", "content": "tell me more " * 40}, {"role": "assistant", "content": "no"}]}
    (tmp_path / "long.jsonl").write_text(f"{json.dumps(ok)}\n\n{json.dumps(long)}\n")
    cfg = write_exp(tmp_path, "http://127.0.0.1:9/v1",
                    dataset={"jsonl": "bad.jsonl", "empty": "empty.jsonl", "overlong": "long.jsonl"}.get(case))
    if case == "overlong":
        cfg.write_text(cfg.read_text().replace("max_steps: 4,", "max_steps: 4, max_length: 64,"))
    if case == "key":
        cfg.write_text(cfg.read_text().replace("eval: {samples_per_question", "eval: {samples: 3, samples_per_question"))
    if case == "yaml":
        cfg.write_text("name: t\narms: [\n  {name: a\n")
    if case == "model":
        cfg.write_text(cfg.read_text().replace("tiny-llama", "no-such-model"))
    target = tmp_path / "missing.yaml" if case == "missing" else cfg
    result = CliRunner().invoke(app, ["run", str(target)])
    assert result.exit_code == 2
    out = result.output.strip()
    assert out.startswith("error: ") and needle in out and "\n" not in out and "Traceback" not in out
