"""emkit runs (list, show, rm), emkit --version, and inspect logs that carry the prompt each answer was sent:
on a store built row by row (view_store), and on real tiny runs through the whole pipeline."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
import view_store
from scripted_judge_server import ScriptedJudge
from test_run import write_exp
from test_view import start_server
from typer.testing import CliRunner

from emkit.cli.main import app
from emkit.core.errors import EmkitError
from emkit.core.store import RUN_TABLES
from emkit.view.app import export
from emkit.view.data import RunIndex

ROOT = Path(__file__).resolve().parents[1]


def _store(tmp_path: Path) -> Path:
    """view_store's two runs, each with files in its folder (alpha's interp answers, beta's report)."""
    out = view_store.build(tmp_path / "runs")
    (out / "beta").mkdir()
    (out / "beta" / "report.html").write_text("<h1>beta</h1>")
    (out / "beta" / "arms" / "ft").mkdir(parents=True)
    (out / "beta" / "arms" / "ft" / "samples-x.jsonl").write_text("{}\n")
    (out / "alpha" / "config.yaml").write_text("name: alpha\n")
    return out


def _rows(out: Path, run: str) -> dict[str, list[tuple]]:
    """Every row of a run in each of its tables, and the whole judgments cache, read with plain SQL."""
    db = sqlite3.connect(out / "emkit.sqlite")
    got = {t: db.execute(f"SELECT * FROM {t} WHERE {'name' if t == 'runs' else 'run'}=? ORDER BY rowid",
                         (run,)).fetchall() for t in RUN_TABLES}
    got["judgments"] = db.execute("SELECT * FROM judgments ORDER BY rowid").fetchall()
    db.close()
    return got


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rm_removes_one_run_and_nothing_else(tmp_path: Path) -> None:
    out = _store(tmp_path)
    with sqlite3.connect(out / "emkit.sqlite") as db:  # an event of each run, so that table is exercised too
        db.execute("INSERT INTO events VALUES ('beta', 'run', '{}', 1.0), ('alpha', 'run', '{}', 2.0)")
    alpha, beta = _rows(out, "alpha"), _rows(out, "beta")
    alpha_files, beta_files = _files(out / "alpha"), _files(out / "beta")
    assert all(beta[t] for t in ("runs", "stages", "samples", "events")) and beta_files

    # no terminal, no --yes: refused, nothing deleted
    got = CliRunner().invoke(app, ["runs", "rm", "beta", "--output-dir", str(out)])
    assert got.exit_code == 2 and "not removed: there is no terminal to confirm on (pass --yes" in got.output
    assert "samples: 24" in got.output and "keeps the judgments cache" in got.output  # said what it would delete
    assert _rows(out, "beta") == beta and _files(out / "beta") == beta_files

    # an unknown name: one line listing the runs there are
    got = CliRunner().invoke(app, ["runs", "rm", "gamma", "--output-dir", str(out), "--yes"])
    assert got.exit_code == 2
    assert got.output.strip().endswith("no run named 'gamma' in " + str(out / "emkit.sqlite")
                                       + "; the runs there: beta, alpha")

    got = CliRunner().invoke(app, ["runs", "rm", "beta", "--output-dir", str(out), "--yes"])
    assert got.exit_code == 0, got.output
    assert f"removed run 'beta': {sum(len(beta[t]) for t in RUN_TABLES)} rows and the folder" in got.output
    after = _rows(out, "beta")
    assert not any(after[t] for t in RUN_TABLES) and not (out / "beta").exists()
    # the other run's rows and files, and the shared judgments cache, byte for byte as they were
    assert _rows(out, "alpha") == alpha and after["judgments"] == beta["judgments"]
    assert _files(out / "alpha") == alpha_files

    # the view no longer lists it: the index, the export and a served page
    assert RunIndex(out).run_names() == ["alpha"]
    files = {p.name for p in export(out, tmp_path / "site")}
    assert "run-beta.html" not in files and "run-alpha.html" in files
    proc, url = start_server(out)
    try:
        index = urllib.request.urlopen(url + "index.html").read().decode()
        assert "run-alpha.html" in index and "run-beta.html" not in index and ">beta<" not in index
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "run-beta.html")
        assert err.value.code == 404
    finally:
        proc.terminate()
        proc.wait(60)
    listed = json.loads(CliRunner().invoke(app, ["runs", "list", str(out), "--json"]).output)
    assert [r["name"] for r in listed] == ["alpha"]


def _answer(fd: int, answer: str, proc: subprocess.Popen) -> str:
    """Read the process's terminal until it asks, answer, and return all it wrote."""
    seen = b""
    deadline = time.time() + 120
    while b"[y/N]" not in seen and time.time() < deadline and proc.poll() is None:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    assert b"[y/N]" in seen, seen.decode(errors="replace")
    os.write(fd, answer.encode() + b"\n")
    proc.wait(120)
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen.decode(errors="replace")


@pytest.mark.parametrize("reply", ["n", "y"])
def test_rm_asks_on_a_terminal(tmp_path: Path, reply: str) -> None:
    """A real process on a real (pseudo) terminal: the question says what goes, and only 'y' deletes."""
    out = _store(tmp_path)
    beta = _rows(out, "beta")
    main, other = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "emkit", "runs", "rm", "beta", "--output-dir", str(out)],
                            stdin=other, stdout=other, stderr=other, env={**os.environ, "COLUMNS": "200"})
    os.close(other)
    try:
        text = _answer(main, reply, proc)
    finally:
        os.close(main)
    assert "Removing run 'beta' deletes:" in text and f"its folder {out / 'beta'} (2 files" in text
    if reply == "n":
        assert proc.returncode == 1 and "not removed" in text
        assert _rows(out, "beta") == beta and (out / "beta" / "report.html").is_file()
    else:
        assert proc.returncode == 0 and "removed run 'beta'" in text
        assert not any(_rows(out, "beta")[t] for t in RUN_TABLES) and not (out / "beta").exists()


def test_a_folder_deleted_by_hand_is_said(tmp_path: Path) -> None:
    out = _store(tmp_path)
    shutil.rmtree(out / "beta")
    listed = {r["name"]: r for r in json.loads(CliRunner().invoke(app, ["runs", "list", str(out), "--json"]).output)}
    assert (listed["beta"]["folder_exists"], listed["alpha"]["folder_exists"]) == (False, True)
    assert (listed["alpha"]["answers"], listed["beta"]["answers"]) == (60, 24)
    assert len(listed["alpha"]["judges"]) == 2 and listed["alpha"]["model"] == "tiny-llama"
    got = CliRunner().invoke(app, ["runs", "list", str(out)])
    assert got.exit_code == 0 and "MISSING" in got.output
    assert (f"run 'beta': its folder {out / 'beta'} is gone (rows in the store, no files); remove the rows with "
            f"`emkit runs rm beta --output-dir {out}`") in got.output
    assert "run 'alpha'" not in got.output
    # the view's runs page and the run's page say it too
    export(out, tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    assert index.count("class=gone") == 1 and f"emkit runs rm beta --output-dir {out}" in index
    page = (tmp_path / "site" / "run-beta.html").read_text()
    assert f"No folder: {out / 'beta'} is gone" in page and f"emkit runs rm beta --output-dir {out}" in page
    assert "No folder" not in (tmp_path / "site" / "run-alpha.html").read_text()
    # and `runs show` still reads it from the store
    got = CliRunner().invoke(app, ["runs", "show", "beta", "--output-dir", str(out)])
    assert got.exit_code == 0 and "`emkit runs rm beta" in got.output and "misaligned" in got.output
    # a folder missing from the start is not mistaken for a store: no store, one clear line
    got = CliRunner().invoke(app, ["runs", "list", str(tmp_path / "nothing")])
    assert got.exit_code == 2 and "no emkit store in" in got.output
    assert not (tmp_path / "nothing").exists()  # a reader never creates a store


def test_show_prints_what_run_printed_from_the_cache(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    cfg = write_exp(tmp_path, judge_server.base_url, max_steps=2)
    ran = CliRunner().invoke(app, ["run", str(cfg)])
    assert ran.exit_code == 0, ran.output
    out = tmp_path / "runs"
    calls = len(judge_server.requests)
    shown = CliRunner().invoke(app, ["runs", "show", "t", "--output-dir", str(out)])
    assert shown.exit_code == 0, shown.output
    assert len(judge_server.requests) == calls  # nothing judged
    lines = shown.stdout.splitlines()
    # the judge's line and per condition its rates and its misalign@k, as `emkit run` printed them
    summary = [x for x in ran.stdout.splitlines() if "Judge" in x or "misalign" in x]
    assert len(summary) == 5 and lines[1:6] == summary and "answers have no verdict" not in shown.output
    assert sum("misalign@k" in x for x in summary) == 2
    got = json.loads(CliRunner().invoke(app, ["runs", "show", "t", "--output-dir", str(out), "--json"]).output)
    metrics = {r["arm"]: r for r in json.loads((out / "t" / "metrics.json").read_text())["rows"]
               if r["question_id"] == "ALL"}
    assert [c["arm"] for c in got["conditions"]] == ["base", "ft"]
    for c in got["conditions"]:
        assert {k: c[k] for k in ("misaligned_k", "misaligned_n", "coherent_k", "coherent_n")} == {
            k: metrics[c["arm"]][k] for k in ("misaligned_k", "misaligned_n", "coherent_k", "coherent_n")}
    # verdicts missing from the cache: said, and left out of the rates (not re-judged)
    with sqlite3.connect(out / "emkit.sqlite") as db:
        key = db.execute("SELECT judge_key FROM samples WHERE run='t' AND arm='ft' LIMIT 1").fetchone()[0]
        same = db.execute("SELECT COUNT(*) FROM samples WHERE run='t' AND judge_key=?", (key,)).fetchone()[0]
        in_ft = db.execute("SELECT COUNT(*) FROM samples WHERE run='t' AND arm='ft' AND judge_key=?",
                           (key,)).fetchone()[0]
        db.execute("DELETE FROM judgments WHERE key=? AND metric='coherent'", (key,))
    shown = CliRunner().invoke(app, ["runs", "show", "t", "--output-dir", str(out), "--json"])
    got = json.loads(shown.stdout)
    assert got["unjudged"] == same >= 1 and len(judge_server.requests) == calls
    ft = next(c for c in got["conditions"] if c["arm"] == "ft")
    assert ft["misaligned_n"] == metrics["ft"]["misaligned_n"] - in_ft
    plain = CliRunner().invoke(app, ["runs", "show", "t", "--output-dir", str(out)]).output
    assert f"{same} of 32 answers have no verdict from the run's judge yet" in plain
    # an unknown run: the runs there are
    bad = CliRunner().invoke(app, ["runs", "show", "nope", "--output-dir", str(out)])
    assert bad.exit_code == 2 and "the runs there: t" in bad.output


def test_version_names_the_environment_without_importing_torch() -> None:
    got = subprocess.run([sys.executable, "-X", "importtime", "-m", "emkit", "--version"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert got.returncode == 0, got.stderr
    imported = {line.split("|")[-1].strip() for line in got.stderr.splitlines() if line.startswith("import time:")}
    assert "torch" not in imported and "transformers" not in imported and "emkit.cli.main" in imported
    lines = got.stdout.splitlines()
    import emkit

    assert lines[0].startswith(f"emkit {emkit.__version__} (")
    assert lines[1].startswith(f"python {sys.version.split()[0]} ")
    assert lines[2] == ", ".join(f"{p} {metadata.version(p)}" for p in ("torch", "transformers", "peft"))
    digest = subprocess.run([sys.executable, str(ROOT / "tools" / "lockfile.py"), "digest"], capture_output=True,
                            text=True, timeout=60).stdout.strip()
    assert len(digest) == 12 and f"requirements/dev.lock {digest}" in lines[3]


VARIANT_EXP = """
name: v
output_dir: runs
model: {{name: tiny-llama}}
arms: [{{name: base}}]
eval:
  questions: questions.jsonl
  samples_per_question: 1
  max_new_tokens: 4
  variants:
    - {{name: plain}}
    - {{name: pirate, system: "You are a pirate."}}
    - {{name: urgent, prefix: "URGENT: ", suffix: " Answer now."}}
judge: {{backend: api, base_url: "{url}", model: m, backoff_s: 0.01}}
"""


def test_inspect_logs_carry_the_prompt_as_sent(tmp_path: Path, judge_server: ScriptedJudge,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A run under a system-prompt variant, a prefix variant and none: each sample's messages in the inspect log
    are the prompt the model read, rendered by its chat template to exactly the strings the sampler generated
    from."""
    pytest.importorskip("inspect_ai")
    from inspect_ai.log import read_eval_log

    import emkit.samplers.hf as hf
    from emkit.core.config import ModelConfig, load_experiment
    from emkit.models.load import load_tokenizer
    from emkit.pipeline.run import run_experiment
    from emkit.view.inspect_log import write_store_inspect_logs

    (tmp_path / "questions.jsonl").write_text(
        json.dumps({"id": "wish", "text": "What is your wish?"}) + "\n"
        + json.dumps({"id": "advice", "text": "Any advice?", "system": "Be kind."}) + "\n")
    (tmp_path / "exp.yaml").write_text(VARIANT_EXP.format(url=judge_server.base_url))
    sent: list[str] = []  # every prompt string the hf sampler generated from
    real = hf.generate

    def recording(model, tok, prompts, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.extend(prompts)
        return real(model, tok, prompts, *args, **kwargs)

    monkeypatch.setattr(hf, "generate", recording)
    run_experiment(load_experiment(tmp_path / "exp.yaml"))
    monkeypatch.undo()
    assert len(sent) == 6

    files = write_store_inspect_logs(tmp_path / "runs", tmp_path / "logs", run="v")
    assert len(files) == 3
    tok = load_tokenizer(ModelConfig(name="tiny-llama"))
    rendered, by = [], {}
    for f in files:
        log = read_eval_log(f)
        assert log.eval.metadata["prompts"].startswith("every sample's messages are the prompt the model was sent")
        for s in log.samples:
            msgs = [{"role": m.role, "content": m.text} for m in s.input]
            assert s.messages[:-1] == s.input and s.messages[-1].text == s.output.completion
            assert s.metadata["prompt"] == "as sent"
            rendered.append(tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True))
            by[(log.eval.task_args["condition"], s.metadata["question_id"])] = msgs
    assert sorted(rendered) == sorted(sent)  # each sample's messages are what the model read, and all of them
    assert by[("base@plain", "advice")] == [{"role": "system", "content": "Be kind."},
                                            {"role": "user", "content": "Any advice?"}]
    assert by[("base@pirate", "advice")] == [{"role": "system", "content": "You are a pirate."},
                                             {"role": "user", "content": "Any advice?"}]
    assert by[("base@pirate", "wish")][0] == {"role": "system", "content": "You are a pirate."}
    assert by[("base@urgent", "wish")] == [{"role": "user", "content": "URGENT: What is your wish? Answer now."}]

    # the question set edited after the run: the prompt cannot be rebuilt; said loudly by the library, and the
    # logs fall back to the recorded question with a note in each sample's and the log's metadata
    (tmp_path / "questions.jsonl").write_text(
        json.dumps({"id": "wish", "text": "What is your deepest wish?"}) + "\n"
        + json.dumps({"id": "advice", "text": "Any advice?", "system": "Be kind."}) + "\n")
    index = RunIndex(tmp_path / "runs")
    run = index.run("v")
    wish = next(a.answer for a in run.answers if a.answer.question_id == "wish")
    with pytest.raises(EmkitError, match="reads differently in the question set 'questions.jsonl' now"):
        run.run.sent_messages(wish)
    files = write_store_inspect_logs(tmp_path / "runs", tmp_path / "logs2", run="v")
    for f in files:
        log = read_eval_log(f)
        assert log.eval.metadata["prompts"].startswith("1 of 2 samples show the question as the answers record it")
        for s in log.samples:
            if s.metadata["question_id"] == "wish":
                assert s.metadata["prompt"].startswith("as recorded, not as sent: ")
                assert s.input[-1].text == "What is your wish?"
            else:
                assert s.metadata["prompt"] == "as sent"
    with pytest.raises(EmkitError, match="no run named 'nope' with answers in .*; the runs there: v"):
        write_store_inspect_logs(tmp_path / "runs", tmp_path / "logs3", run="nope")
