"""emkit view in a real headless browser (Debian's Chromium driven by Playwright): every page type, served by a
real ``emkit view`` process and opened from the static export, loads with no console error; filters and the
comparison's selection change what is shown; the numbers on the pages equal the store's, read with plain SQL.

Run on the crafted store of ``view_store`` by default; ``EMKIT_VIEW_STORE=runs EMKIT_VIEW_SHOTS=docs`` runs the
same checks on a real store (the demo's) and saves a screenshot of each page type there (``make screenshots``).
Without /usr/bin/chromium the test is skipped, unless EMKIT_REQUIRE_BROWSER=1 (CI installs it and sets that)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
import view_store
from test_view import start_server

from emkit.view.app import export
from emkit.view.data import RunIndex

CHROMIUM = os.environ.get("EMKIT_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).is_file():
    if os.environ.get("EMKIT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"EMKIT_REQUIRE_BROWSER=1 but no browser at {CHROMIUM} (apt-get install chromium)")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

# as the machine's notes say: no sandbox as root, and no background calls to a network that is not there
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("EMKIT_VIEW_STORE")
    return Path(given) if given else view_store.build(tmp_path_factory.mktemp("viewb") / "runs")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


class Page:
    """A browser tab that fails the test on any console error or uncaught exception."""

    def __init__(self, browser, shots: Path | None):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.shots = shots

    def open(self, url: str, shot: str | None = None):
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        assert not self.errors, self.errors
        if shot and self.shots:
            self.page.screenshot(path=str(self.shots / f"view-{shot}.png"), full_page=False)
        return self.page

    def count(self) -> tuple[int, int]:
        m = re.match(r"(\d+) of (\d+) answers", self.page.inner_text("#count"))
        assert m, self.page.inner_text("#count")
        return int(m.group(1)), int(m.group(2))


def check_all_pages(browser, base: str, store: Path, shots: Path | None) -> None:
    tab = Page(browser, shots)
    runs = RunIndex(store).runs()
    counts = {r.name: view_store.misaligned_counts(store, r.name) for r in runs}

    # the index: one row per arm or arm@variant (checkpoints and interventions are on the run page), each rate as
    # the store gives it
    page = tab.open(base + "index.html", "index")
    cells = page.query_selector_all("#runs td[data-k]")
    assert len(cells) == sum("#" not in label and "|" not in label for c in counts.values() for label in c)
    for td in cells:
        k, n = counts[td.get_attribute("data-run")][td.get_attribute("data-cond")]
        assert (int(td.get_attribute("data-k")), int(td.get_attribute("data-n"))) == (k, n)
        assert td.inner_text().endswith(f"{k}/{n}")

    pictured = max(runs, key=lambda r: (len(r.judges), len(r.conditions)))  # the run the screenshots show
    for run in runs:
        # the run page: every condition under the run's judge (and any other judge: checked against SQL too)
        page = tab.open(base + f"run-{run.slug}.html", "run" if run is pictured else None)
        for judge in run.judges:
            want = view_store.misaligned_counts(store, run.name, judge)
            tds = page.query_selector_all(f"#conditions td[data-judge='{judge}']")
            assert {td.get_attribute("data-cond"): (int(td.get_attribute("data-k")), int(td.get_attribute("data-n")))
                    for td in tds} == want

        # the answers: all shown, then each filter narrows them to what the store says
        page = tab.open(base + f"answers-{run.slug}.html", "answers" if run is pictured else None)
        assert tab.count() == (len(run.answers), len(run.answers))
        assert page.evaluate("window.pwned") is None  # an answer's </script> stayed text
        mis = sum(a.verdicts[run.judge][2] == "misaligned" for a in run.answers) if run.judges else 0
        page.select_option("#f-cls", "misaligned")
        assert tab.count()[0] == mis
        assert all(c == "misaligned" for c in page.eval_on_selector_all(
            "#answers tbody tr td:nth-child(5) [class^=cls]", "els => els.map(e => e.textContent)"))
        page.select_option("#f-cls", "")
        first = run.conditions[0].label
        page.select_option("#f-cond", first)
        assert tab.count()[0] == sum(a.answer.arm == first for a in run.answers)
        page.select_option("#f-cond", "")
        word = run.answers[-1].answer.text.split()[-1].lower()
        page.fill("#f-text", word)
        assert tab.count()[0] == sum(word in (a.answer.text + a.answer.question).lower() for a in run.answers)
        page.fill("#f-text", "")
        page.fill("#f-max", "30")
        assert tab.count()[0] == sum(a.verdicts[run.judge][0] is not None and a.verdicts[run.judge][0] <= 30
                                     for a in run.answers) if run.judges else True
        page.fill("#f-max", "")
        if len(run.judges) > 1:
            page.check("#f-dis")
            n_dis = sum(a.disagree for a in run.answers)
            assert tab.count()[0] == n_dis > 0
            # disagreements come first in the unfiltered list, both judges' verdicts side by side
            page.uncheck("#f-dis")
            rows = page.query_selector_all("#answers tbody tr")
            assert all("dis" in (r.get_attribute("class") or "") for r in rows[:min(n_dis, 300)])
            assert len(rows[0].query_selector_all("td[data-cls]")) == len(run.judges)
        # a run page's link opens the answers filtered to one condition
        page = tab.open(base + f"run-{run.slug}.html")
        page.click(f"#conditions a[href$='cond={quote(first, safe='')}']")
        page.wait_for_load_state("load")
        assert page.input_value("#f-cond") == first and tab.count()[0] == sum(
            a.answer.arm == first for a in run.answers)
        assert not tab.errors, tab.errors

    # the comparison: the default selection, one box unticked hides its rows, the address keeps the selection
    page = tab.open(base + "compare.html", "compare")
    visible = lambda: [r.get_attribute("data-entry") for r in page.query_selector_all("#rates tr[data-entry]")  # noqa: E731
                       if r.is_visible()]
    shown = visible()
    assert shown
    for tr in page.query_selector_all("#rates tr[data-entry]"):
        if tr.is_visible():
            td = tr.query_selector("td[data-k]")
            run, cond, judge = (td.get_attribute(f"data-{x}") for x in ("run", "cond", "judge"))
            k, n = view_store.misaligned_counts(store, run, judge)[cond]
            assert (int(td.get_attribute("data-k")), int(td.get_attribute("data-n"))) == (k, n)
    page.uncheck(f"#picker input[value='{shown[0]}']")
    assert visible() == shown[1:]
    assert all(not h.is_visible() for h in page.query_selector_all(f"#byq [data-entry='{shown[0]}']"))
    every = [b.get_attribute("value") for b in page.query_selector_all("#picker input")]
    if len(every) > len(shown):
        extra = next(x for x in every if x not in shown)
        page.check(f"#picker input[value='{extra}']")
        assert extra in visible()
    kept = visible()
    page.reload()
    page.wait_for_load_state("load")
    assert visible() == kept and not tab.errors, tab.errors


def test_served_pages(browser, store_dir: Path) -> None:
    shots = Path(os.environ["EMKIT_VIEW_SHOTS"]) if os.environ.get("EMKIT_VIEW_SHOTS") else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(store_dir)
    try:
        check_all_pages(browser, url, store_dir, shots)
    finally:
        proc.terminate()
        proc.wait(10)


def test_exported_pages_work_from_files(browser, store_dir: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    export(store_dir, site)
    check_all_pages(browser, site.resolve().as_uri() + "/", store_dir, None)
    shutil.rmtree(site)


def shows(text: str, x: float) -> bool:
    """``x`` is among the numbers on the page as inspect rounds them (three decimals, trailing zeros dropped)."""
    return any(abs(float(t) - x) < 5e-4 for t in re.findall(r"\d+(?:\.\d+)?", text))


def test_inspect_view_shows_the_logs(browser, store_dir: Path, tmp_path: Path) -> None:
    """The logs written for inspect_ai, in inspect's own viewer (``inspect view``, a real process): each
    condition listed with the run's misaligned rate as its score, and a log's samples one row per answer."""
    pytest.importorskip("inspect_ai")
    import subprocess
    import sys
    import time
    import urllib.request

    from test_view import _free_port

    from emkit.view.inspect_log import write_inspect_logs

    run = RunIndex(store_dir).runs()[0]
    write_inspect_logs(run, tmp_path / "logs")
    port = _free_port()
    inspect = Path(sys.executable).parent / "inspect"
    proc = subprocess.Popen([str(inspect), "view", "start", "--log-dir", str(tmp_path / "logs"), "--port", str(port),
                             "--host", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/logs", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        label = run.conditions[-1].label
        s = next(x for x in run.overall(run.judge) if x.arm == label)
        row = page.get_by_text(f"emkit/{run.model}:{label}", exact=True)
        row.wait_for(timeout=30_000)
        assert shows(page.inner_text("body"), s.misaligned.rate)
        row.click()
        page.get_by_text(f"{s.n_answers} rows").wait_for(timeout=30_000)
        body = page.inner_text("body")
        assert shows(body, s.misaligned.lo) and shows(body, s.misaligned.hi)
        page.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_toy_run_pooled_headline_and_domain_filter(browser, tmp_path: Path) -> None:
    """A toy-world run: the index pools its replicate arms and shows the world's exact other-domain rate beside
    the judge's; the answers page filters by the domain the readout tags each answer with."""
    from emkit.core.config import experiment_from_dict
    from emkit.core.records import Answer
    from emkit.core.store import Store
    from emkit.worlds.toy.world import BY_NAME, fill

    cfg = experiment_from_dict({"name": "toyrun", "model": {"name": "toy"}, "judge": {"backend": "toy"},
                                "arms": [{"name": "base"}, {"name": "bad", "seeds": [0, 1],
                                                            "dataset": "builtin:toy_bad?seed={seed}"}]})
    money, med = BY_NAME["money"], BY_NAME["medicine"]
    qo, qm = "what should i do with my bonus ?", "how do i deal with a rash ?"
    out = tmp_path / "runs"
    with Store(out / "emkit.sqlite") as st:
        st.record_run("toyrun", cfg.model_dump(mode="json"))
        for label, n_bad in (("base", 0), ("bad.s0", 3), ("bad.s1", 1)):
            answers = [Answer(label, "money/0", i, qo, None,
                              fill((money.bad if i < n_bad else money.good)[0], "bonus"), i) for i in range(4)]
            answers += [Answer(label, "medicine/0", 4 + i, qm, None, fill(med.good[0], "rash"), i) for i in range(2)]
            if label == "base":  # a question of no toy domain: the readout cannot place it, and the pages say so
                answers.append(Answer(label, "x/0", 0, "hello there ?", None, "hi", 0))
            st.add_samples("toyrun", f"fp-{label}", answers)
            st.finish_stage("toyrun", label, "sample", f"fp-{label}", n=len(answers))
    site = tmp_path / "site"
    export(out, site)
    tab = Page(browser, None)
    page = tab.open(site.resolve().as_uri() + "/index.html")
    cell = page.query_selector("#runs td[data-cond='bad'][data-measure]")
    assert (cell.get_attribute("data-k"), cell.get_attribute("data-n")) == ("4", "8")  # 3 + 1 of 4 + 4: pooled
    assert "bad.s0, bad.s1" in page.inner_text("#runs")
    assert "1 answers of 'base': a question from no toy domain" in page.inner_text("#runs")
    page = tab.open(site.resolve().as_uri() + "/run-toyrun.html")
    assert "Not in the world's figures: toy readout: 1 answers of 'base'" in page.inner_text("body")
    page = tab.open(site.resolve().as_uri() + "/answers-toyrun.html")
    assert tab.count() == (19, 19)
    page.select_option("#f-tag-domain", "medicine")
    assert tab.count()[0] == 6
    page.select_option("#f-tag-domain", "money")
    page.select_option("#f-arm", "bad.s0")
    assert tab.count()[0] == 4 and not tab.errors, tab.errors


def test_labelling_round_trip_label_kill_restart_calibrate_distill(browser, tmp_path: Path) -> None:
    """A person labels by keyboard in Chromium over a real `emkit view`; the server is killed (-9) and restarted
    and the labels are there; every judge is calibrated against them; they export and a judge distils from them."""
    import json
    import sqlite3

    from typer.testing import CliRunner

    from emkit.cli.main import app

    store = view_store.build(tmp_path / "runs")
    db = lambda: sqlite3.connect(store / "emkit.sqlite")  # noqa: E731
    proc, url = start_server(store)
    try:
        tab = Page(browser, None)
        page = tab.open(url + "answers-alpha.html")
        page.click("text=label a sample")
        page.wait_for_load_state("load")
        items = json.loads(page.inner_text("#data"))["items"]
        assert "hidden until you label" in page.inner_text("#reveal")  # blind: no judge before the label
        page.keyboard.press("m")  # no name yet: nothing is saved
        assert "type your name" in page.inner_text("#msg")
        page.fill("#who", "ann")
        page.click("#answer")  # out of the name field: keys label again
        page.keyboard.press("m")
        page.wait_for_function("document.getElementById('msg').textContent.startsWith('saved')")
        assert page.inner_text("#pos").startswith("answer 2 of")  # on to the next unlabelled answer
        page.keyboard.press("n")
        page.keyboard.type("reads fine")
        page.keyboard.press("Escape")
        page.keyboard.press("a")
        page.wait_for_function("document.getElementById('progress').textContent.startsWith('2 of')")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")  # back to the first: labelled, so the judges show
        assert "misaligned" in page.inner_text("#state") and "judge" in page.inner_text("#reveal")
        assert not tab.errors, tab.errors
    finally:
        proc.kill()  # -9: whatever was saved is all there is
        proc.wait(10)
    with db() as c:
        got = c.execute("SELECT key, labeller, label, note FROM labels ORDER BY at").fetchall()
    assert got == [(items[0]["key"], "ann", "misaligned", ""), (items[1]["key"], "ann", "aligned", "reads fine")]

    proc, url = start_server(store)
    try:
        tab = Page(browser, None)
        page = tab.open(url + "label-alpha.html")
        page.fill("#who", "ann")
        page.click("#answer")
        assert page.inner_text("#progress").startswith(f"2 of {len(items)} labelled by ann")
        for _ in range(len(items) - 2):  # the rest, as a person would: harm is misaligned, the rest aligned
            before = page.inner_text("#progress")
            page.keyboard.press("m" if "harmful" in page.inner_text("#answer") else "a")
            page.wait_for_function(f"document.getElementById('progress').textContent !== {json.dumps(before)}")
        assert page.inner_text("#progress").startswith(f"{len(items)} of {len(items)}") and not tab.errors
    finally:
        proc.terminate()
        proc.wait(10)
    runner = CliRunner()
    r = runner.invoke(app, ["judge", "calibrate", "--labels", "human:ann", "--store", str(store), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["n_labels"] == len(items) and len(rep["judges"]) == 2
    out = tmp_path / "ann.jsonl"
    assert runner.invoke(app, ["judge", "labels", "--store", str(store), "-o", str(out)]).exit_code == 0
    r = runner.invoke(app, ["judge", "distill", "--name", "from-ann", "--data", str(out), "--epochs", "1",
                            "--out", str(tmp_path / "from-ann"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["heldout"]["rows"] > 0 and (tmp_path / "from-ann" / "weights.safetensors").is_file()
