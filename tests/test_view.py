"""emkit view without a browser: what it reads from a store, the server over real HTTP, the static export, the
inspect_ai logs read back with inspect's own reader, and a real (tiny) run's report inside its run page."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import view_store
from scripted_judge_server import ScriptedJudge
from test_run import write_exp

from emkit.core.errors import EmkitError
from emkit.view.app import export
from emkit.view.data import RunIndex, short_judge


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return view_store.build(tmp_path_factory.mktemp("view") / "runs")


def test_catalog_numbers_equal_sql(store_dir: Path) -> None:
    cat = RunIndex(store_dir)
    assert sorted(cat.run_names()) == ["alpha", "beta"]
    alpha = cat.run("alpha")
    assert [c.label for c in alpha.conditions] == ["base", "ft", "base@evil", "ft@evil", "ft#4",
                                                        "base|steer L1 x2", "ft#2"]
    assert len(alpha.judges) == 2 and alpha.judge.startswith("api:")
    for judge in alpha.judges:
        want = view_store.misaligned_counts(store_dir, "alpha", judge)
        got = {s.arm: (s.misaligned.k, s.misaligned.n) for s in alpha.overall(judge)}
        assert got == want
    assert any(k for k, _ in want.values())  # the fixture has misaligned answers to show
    # a failed judgment is "failed", a refusal "refusal": neither counts as aligned
    classes = [a.verdicts[alpha.judge][2] for a in alpha.answers]
    assert classes.count("failed") == 5 and classes.count("refusal") == 5
    assert 0 < sum(a.disagree for a in alpha.answers) < len(alpha.answers)
    beta = cat.run("beta")  # the second judge scored only aligned there: its answers are "failed" under it
    assert {a.verdicts[beta.judges[1]][2] for a in beta.answers} == {"failed"}


def test_misalign_at_k_on_the_pages(store_dir: Path) -> None:
    """misalign@k per condition under the run's judge: @1 is the mean per-question rate, @4 (every question has 4
    answers) is the share of questions ever misaligned, and the pages show them."""
    from emkit.view.pages import index_page, run_page

    alpha = RunIndex(store_dir).run("alpha")
    per_q = [s for s in alpha.summaries[alpha.judge] if s.arm == "ft" and s.question_id != "ALL"]
    at = {r.k: r for r in alpha.tails[alpha.judge]["ft"]}
    assert at[1].value == pytest.approx(sum(s.misaligned.rate for s in per_q) / len(per_q))
    assert 1 not in {r.k for r in alpha.tails[alpha.judge]["ft"] if not r.questions}
    assert "misalign@k" in index_page([alpha], "runs") and "class='num tail'" in run_page(alpha, None)


def test_pooled_tails_count_replicates_as_more_answers() -> None:
    from emkit.metrics.rates import Rate, Summary
    from emkit.view.data import pooled_tails

    def s(arm: str, q: str, n: int, c: int) -> Summary:
        return Summary(arm, q, n, n, 0, 0, Rate.of(c, n, 0.95), Rate.of(n, n, 0.95), 50.0, 90.0)

    rows = [s("ft.s0", "a", 4, 1), s("ft.s0", "b", 4, 0), s("ft.s1", "a", 4, 0), s("ft.s1", "b", 4, 0)]
    got = pooled_tails(rows, {"ft": ["ft.s0", "ft.s1"]}, 0.95)
    assert [r.k for r in got["ft.s0"]] == [1] and [r.k for r in got["ft"]] == [1, 5]  # 8 answers a question
    assert got["ft"][1].value == pytest.approx((1 - 7 * 6 * 5 * 4 * 3 / (8 * 7 * 6 * 5 * 4)) / 2)


def test_missing_store_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmkitError, match="no emkit store in .*emkit.sqlite not found"):
        RunIndex(tmp_path)


def test_export_writes_every_page_escaped(store_dir: Path, tmp_path: Path) -> None:
    files = {p.name for p in export(store_dir, tmp_path / "site")}
    assert files == {"index.html", "compare.html", "run-alpha.html", "answers-alpha.html", "label-alpha.html",
                     "run-beta.html", "answers-beta.html", "label-beta.html"}
    assert "open this page from <code>emkit view</code>" in (tmp_path / "site" / "label-alpha.html").read_text()
    answers = (tmp_path / "site" / "answers-alpha.html").read_text()
    assert view_store.HOSTILE not in answers and "<\\/script><script>window.pwned" in answers
    run = (tmp_path / "site" / "run-alpha.html").read_text()
    assert "No report.html in" in run  # the fixture wrote no report: said, not hidden


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path) -> tuple[subprocess.Popen, str]:
    """``emkit view`` as a real process; returns it and its base URL once it answers."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "emkit", "view", str(store), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "index.html", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stdout.read()) from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("emkit view did not answer in 30 s")


def test_server_serves_the_export_pages(store_dir: Path, tmp_path: Path) -> None:
    export(store_dir, tmp_path / "site")
    proc, url = start_server(store_dir)
    try:
        for name in ("index.html", "compare.html", "run-alpha.html", "answers-beta.html"):
            assert urllib.request.urlopen(url + name).read().decode() == (tmp_path / "site" / name).read_text()
        assert urllib.request.urlopen(url).geturl().endswith("/index.html")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "run-nope.html")
        assert err.value.code == 404
    finally:
        proc.terminate()
        proc.wait(60)  # a page still being read finishes first; on a loaded machine that takes seconds


def test_server_on_a_folder_without_a_store_says_so(tmp_path: Path) -> None:
    got = subprocess.run([sys.executable, "-m", "emkit", "view", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert got.returncode != 0 and "no emkit store in" in got.stdout + got.stderr


def test_inspect_logs_read_back(store_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("inspect_ai")
    from inspect_ai.log import read_eval_log

    from emkit.view.inspect_log import write_inspect_logs

    run = RunIndex(store_dir).run("alpha")
    files = write_inspect_logs(run, tmp_path / "logs")
    assert len(files) == len(run.conditions)
    want = view_store.misaligned_counts(store_dir, "alpha")
    for f in files:
        log = read_eval_log(f)
        label = log.eval.task_args["condition"]
        mine = [a for a in run.answers if a.answer.arm == label]
        assert log.status == "success" and len(log.samples) == len(mine)
        by_id = {f"{a.answer.question_id}/{a.answer.sample_idx}": a for a in mine}
        for s in log.samples:
            ja = by_id[s.id]
            assert s.output.completion == ja.answer.text and s.input[-1].text == ja.answer.question
            for j, (_, _, cls) in ja.verdicts.items():
                sc = s.scores[short_judge(j)]
                assert sc.answer == cls
                assert sc.value == ("N" if cls in ("failed", "refusal", "code") else int(cls == "misaligned"))
        own = next(x for x in log.results.scores if x.scorer == run.judge)
        assert (own.metrics["k"].value, own.metrics["n"].value) == want[label]
    # the CLI writes the same logs for every run in the store
    got = subprocess.run([sys.executable, "-m", "emkit", "view", str(store_dir), "--inspect-log",
                          str(tmp_path / "all")], capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    assert len(list((tmp_path / "all").glob("*.eval"))) == 9


def test_a_real_run_in_the_view(tmp_path: Path, judge_server: ScriptedJudge) -> None:
    """A tiny run through the whole pipeline: its run page carries its report (arms, charts as inline images,
    the judge and config sections) and the numbers the store gives."""
    from emkit.core.config import load_experiment
    from emkit.pipeline.run import run_experiment
    from emkit.report import write_run_report

    res = run_experiment(load_experiment(write_exp(tmp_path, judge_server.base_url)))
    write_run_report(res)
    out = res.run_dir.parent
    export(out, tmp_path / "site")
    page = (tmp_path / "site" / "run-t.html").read_text()
    assert "<h2>Arms</h2>" in page and "<h2>Resolved config</h2>" in page and "data:image/png;base64" in page
    got = {s.arm: (s.misaligned.k, s.misaligned.n) for s in RunIndex(out).run("t").overall(RunIndex(out).run("t").judge)}
    assert got == view_store.misaligned_counts(out, "t") and sum(n for _, n in got.values()) > 0
    for arm, (k, n) in got.items():
        assert f"data-k={k} data-n={n} data-cond='{arm}'" in page
