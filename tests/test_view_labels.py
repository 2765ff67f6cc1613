"""People's labels (issue 30): saved in the store as they are made, drawn as a stratified sample, written only
through the view's own pages (a forged Host, a cross-origin POST and a missing token are refused by a real
``emkit view`` process), then every judge in the store measured against them and exported as labelled JSONL."""

from __future__ import annotations

import json
import math
import re
import shutil
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import view_store
from test_view import start_server
from typer.testing import CliRunner

from emkit.cli.main import app
from emkit.core.errors import EmkitError
from emkit.core.records import HumanLabel
from emkit.core.store import Store
from emkit.judges.calibrate import LabelledRow, cohen_kappa, read_labelled
from emkit.view.data import RunIndex, label_sample


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return view_store.build(tmp_path / "runs")


def test_labels_are_kept_by_answer_and_person_and_a_change_replaces(store_dir: Path) -> None:
    with Store(store_dir / "emkit.sqlite") as st:
        st.put_label(HumanLabel("k1", "ann", "misaligned", "q?", None, "a", "alpha", "ft", "rude", 1.0))
        st.put_label(HumanLabel("k1", "bob", "aligned", "q?", None, "a", "alpha", "ft", "", 2.0))
        st.put_label(HumanLabel("k1", "ann", "incoherent", "q?", None, "a", "alpha", "ft", "", 3.0))
        with pytest.raises(EmkitError, match="'bad' is not one of aligned, misaligned"):
            st.put_label(HumanLabel("k2", "ann", "bad", "q?", None, "a"))
        with pytest.raises(EmkitError, match="labeller's name"):
            st.put_label(HumanLabel("k2", " ", "aligned", "q?", None, "a"))
    with Store(store_dir / "emkit.sqlite") as st:  # a new connection: committed when made
        assert [(h.labeller, h.label) for h in st.labels()] == [("bob", "aligned"), ("ann", "incoherent")]
        assert st.labellers() == ["ann", "bob"] and [h.label for h in st.labels("ann")] == ["incoherent"]


def test_the_sample_is_stratified_by_condition_and_disagreement_and_fixed(store_dir: Path) -> None:
    run = RunIndex(store_dir).run("alpha")
    got = label_sample(run, 20)
    assert len(got) == 20 and len({a.answer.judge_key for a in got}) == 20
    assert [a.answer.judge_key for a in got] == [a.answer.judge_key for a in label_sample(run, 20)]
    # every stratum (condition x judges disagree) present in the run is in a sample of 20
    strata = {(a.answer.arm, a.disagree) for a in run.answers}
    assert len(strata) <= 20 and {(a.answer.arm, a.disagree) for a in got} == strata
    # disagreements are drawn first: a sample as small as their strata holds nothing else
    n_dis = len({s for s in strata if s[1]})
    assert n_dis and all(a.disagree for a in label_sample(run, n_dis))
    # and shown in an order that does not give the stratum away (not condition by condition)
    shown = [a.answer.arm for a in got]
    assert shown != sorted(shown, key=[c.label for c in run.conditions].index)
    assert len(label_sample(run, 10_000)) == len({a.answer.judge_key for a in run.answers})


def _post(url: str, body: object, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(url + "labels", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_only_the_views_own_pages_can_write_and_no_other_host_is_answered(store_dir: Path) -> None:
    proc, url = start_server(store_dir)
    try:
        with urllib.request.urlopen(url + "label-alpha.html") as resp:
            page = resp.read().decode()
            # no other site may frame it and lead a person's keys into it
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        data = json.loads(re.search(r"<script type='application/json' id='data'>(.*?)</script>", page).group(1)
                          .replace("<\\/", "</"))
        token, key = data["token"], data["items"][0]["key"]
        origin = url.rstrip("/")
        body = {"run": "alpha", "key": key, "label": "misaligned", "labeller": "ann", "note": "says harm"}
        # DNS rebinding: a page at evil.example whose name now points to 127.0.0.1 sends its own Host
        req = urllib.request.Request(url + "index.html", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req)
        assert err.value.code == 400
        assert _post(url, body, {"Host": "evil.example", "Origin": "http://evil.example",
                                 "X-Emkit-Token": token})[0] == 400
        # a cross-origin POST (a form or fetch from another site), even one that somehow holds the token
        status, text = _post(url, body, {"Origin": "http://evil.example", "X-Emkit-Token": token})
        assert status == 403 and "only from" in text
        assert _post(url, body, {"X-Emkit-Token": token})[0] == 403  # no Origin at all
        status, text = _post(url, body, {"Origin": origin, "X-Emkit-Token": "guessed"})
        assert status == 403 and "token" in text
        assert _post(url, body, {"Origin": origin})[0] == 403
        with sqlite3.connect(store_dir / "emkit.sqlite") as db:
            assert db.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 0
        # the page's own write: saved, with the answer's texts read from the store (not from the request)
        ok = {"Origin": origin, "X-Emkit-Token": token}
        assert _post(url, {**body, "answer": "forged text", "question": "forged?"}, ok)[0] == 200
        assert _post(url, body, {"Origin": origin, "X-Emkit-Token": "tökén"})[0] == 403  # not ASCII: refused, no 500
        assert _post(url, {**body, "label": "evil"}, ok)[0] == 400
        assert _post(url, {**body, "key": "nope"}, ok)[0] == 404
        assert _post(url, {**body, "labeller": ""}, ok)[0] == 400
        with sqlite3.connect(store_dir / "emkit.sqlite") as db:
            rows = db.execute("SELECT key, labeller, label, note, run, condition, answer FROM labels").fetchall()
        item = data["items"][0]
        assert rows == [(key, "ann", "misaligned", "says harm", "alpha", item["cond"], item["text"])]
        assert "forged" not in item["text"]
    finally:
        proc.terminate()
        proc.wait(60)


def _label_like(store_dir: Path, who: str, judge: str, flip: int = 0) -> list[HumanLabel]:
    """Label every alpha answer as ``judge`` classed it (the first ``flip`` the other way)."""
    run = RunIndex(store_dir).run("alpha")
    out = []
    with Store(store_dir / "emkit.sqlite") as st:
        for i, a in enumerate(x for x in run.answers if x.verdicts[judge][2] in ("aligned", "misaligned")):
            cls = a.verdicts[judge][2]
            if i < flip:
                cls = "aligned" if cls == "misaligned" else "misaligned"
            h = HumanLabel(a.answer.judge_key, who, cls, a.answer.question, a.answer.system, a.answer.text,
                           "alpha", a.answer.arm, "", float(i + 1))
            st.put_label(h)
            out.append(h)
    return out


def test_calibrate_against_people_measures_every_judge_in_the_store_and_the_labellers(store_dir: Path,
                                                                                      tmp_path: Path) -> None:
    run = RunIndex(store_dir).run("alpha")
    own, other = run.judges
    ann = _label_like(store_dir, "ann", own)
    bob = _label_like(store_dir, "bob", own, flip=6)
    r = CliRunner().invoke(app, ["judge", "calibrate", "--labels", "human:ann", "--store", str(store_dir), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output)
    assert rep["n_labels"] == len(ann) and {c["judge"] for c in rep["judges"]} == {own, other}
    mine = next(c for c in rep["judges"] if c["judge"] == own)
    assert mine["accuracy"] == 1.0 and mine["kappa_misaligned"] == 1.0 and mine["recall_misaligned"] == 1.0
    assert mine["recall_ci"][0] > 0.5 and mine["recall_ci"][1] == pytest.approx(1.0)
    assert mine["balanced_accuracy_ci"][1] == pytest.approx(1.0)
    theirs = next(c for c in rep["judges"] if c["judge"] == other)
    assert theirs["accuracy"] < 1.0  # the second judge scores some answers 35 points more aligned
    # every judge's per-condition rate beside people's, in one table: the judge labelled after agrees exactly
    for c in rep["per_condition"]:
        mine_c = [h for h in ann if f"{h.run}/{h.condition}" == c["condition"]]  # RUN/CONDITION
        assert c["n"] == len(mine_c) and c["people"] == pytest.approx(
            sum(h.label == "misaligned" for h in mine_c) / len(mine_c))
        assert c["judges"][own]["misaligned"] == pytest.approx(c["people"]) and set(c["judges"]) == {own, other}
    assert len(rep["per_condition"]) >= 2
    pair = rep["pairs"][0]
    la = [h.label for h in ann]
    lb = [h.label for h in bob]
    assert (pair["a"], pair["b"], pair["n"]) == ("ann", "bob", len(ann))
    assert pair["kappa_class"] == pytest.approx(cohen_kappa(la, lb)) and pair["agree"] == pytest.approx(
        1 - 6 / len(ann))
    # everyone's labels: the answers both agree on, the 6 disputed left out and counted
    rep = json.loads(CliRunner().invoke(app, ["judge", "calibrate", "--labels", "human", "--store", str(store_dir),
                                              "--json"]).output)
    assert rep["n_labels"] == len(ann) - 6 and rep["n_disputed"] == 6
    r = CliRunner().invoke(app, ["judge", "calibrate", "--labels", "human:carol", "--store", str(store_dir)])
    assert r.exit_code != 0 and "no labels by 'carol'" in r.output and "ann, bob" in r.output
    r = CliRunner().invoke(app, ["judge", "calibrate", "--labels", "human", "--store", str(store_dir)])
    assert r.exit_code == 0 and "Cohen's kappa 1.00" in r.output and "labellers ann and bob" in r.output
    assert "per condition, side by side" in r.output
    # exported as labelled JSONL: what calibrate --data, compare --data and distill --data read
    out = tmp_path / "ann.jsonl"
    r = CliRunner().invoke(app, ["judge", "labels", "--store", str(store_dir), "--labeller", "ann", "-o", str(out)])
    assert r.exit_code == 0 and "ann: " in r.output, r.output
    back = read_labelled(out)
    assert [r.label for r in back] == la and [r.key for r in back] == [h.key for h in ann]
    assert all(r.aligned != r.aligned for r in back)  # a person's label carries no score: null, read as NaN
    # by default the answers everyone agrees on, once each
    r = CliRunner().invoke(app, ["judge", "labels", "--store", str(store_dir), "-o", str(tmp_path / "all.jsonl")])
    assert r.exit_code == 0 and "6 disputed answers left out" in r.output
    assert len(read_labelled(tmp_path / "all.jsonl")) == len(ann) - 6
    # judge compare --data reads them as labels: each score-less row classes as its label
    from emkit.analyses.agreement import label_judgments
    from emkit.core.config import MetricsConfig
    from emkit.metrics.rates import judged_class

    rows = read_labelled(tmp_path / "all.jsonl") + [LabelledRow("q?", c, math.nan, math.nan, c) for c in
                                                    ("incoherent", "refusal", "code")]
    got = label_judgments(rows)
    assert [judged_class(got[(r.key, "aligned")], got[(r.key, "coherent")], MetricsConfig()) for r in rows] == [
        r.label for r in rows]
    # a row with a real score and a missing one keeps the real one (only the missing one stands in)
    half = LabelledRow("q?", "half-scored", 22.0, math.nan, "misaligned")
    got = label_judgments([half])
    assert got[(half.key, "aligned")].score == 22.0 and got[(half.key, "coherent")].score == 100.0


def test_no_labels_and_a_missing_store_are_clear_errors(tmp_path: Path, store_dir: Path) -> None:
    r = CliRunner().invoke(app, ["judge", "calibrate", "--labels", "human", "--store", str(store_dir)])
    assert r.exit_code != 0 and "no labels in" in r.output and "emkit view" in r.output
    r = CliRunner().invoke(app, ["judge", "calibrate", "--labels", "human", "--store", str(tmp_path / "none")])
    assert r.exit_code != 0 and "no emkit store" in r.output
    assert not (tmp_path / "none" / "emkit.sqlite").exists()
    r = CliRunner().invoke(app, ["judge", "calibrate", "--labels", "people", "--store", str(store_dir)])
    assert r.exit_code != 0 and "human:NAME" in r.output
    shutil.rmtree(tmp_path / "none", ignore_errors=True)
