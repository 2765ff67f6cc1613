"""Run directories and the SQLite file: stage fingerprints, samples, judgments (the judge cache), events.

The SQLite file lives at ``<output_dir>/emkit.sqlite`` and is shared by every experiment in that folder, so
an answer judged once is never judged again by the same judge, whichever run produced it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emkit.core.errors import EmkitError
from emkit.core.paths import store_path
from emkit.core.records import LABELS, METRICS, Answer, HumanLabel, Judgment

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (name TEXT PRIMARY KEY, config TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
  run TEXT, arm TEXT, stage TEXT, fingerprint TEXT, info TEXT, finished REAL,
  PRIMARY KEY (run, arm, stage));
CREATE TABLE IF NOT EXISTS datasets (
  run TEXT, arm TEXT, train_fingerprint TEXT, spec TEXT, name TEXT, size INTEGER, seed INTEGER, sha256 TEXT,
  PRIMARY KEY (run, arm, train_fingerprint));
CREATE TABLE IF NOT EXISTS samples (
  run TEXT, arm TEXT, fingerprint TEXT, question_id TEXT, sample_idx INTEGER, question TEXT, system TEXT,
  answer TEXT, seed INTEGER, judge_key TEXT,
  PRIMARY KEY (run, arm, fingerprint, question_id, sample_idx));
CREATE TABLE IF NOT EXISTS judgments (
  judge TEXT, metric TEXT, key TEXT, score REAL, status TEXT NOT NULL, detail TEXT, created REAL, verdict TEXT,
  PRIMARY KEY (judge, metric, key));
CREATE TABLE IF NOT EXISTS events (run TEXT, kind TEXT, data TEXT, at REAL);
CREATE TABLE IF NOT EXISTS labels (
  key TEXT, labeller TEXT, label TEXT NOT NULL, question TEXT, system TEXT, answer TEXT, run TEXT, condition TEXT,
  note TEXT, at REAL, PRIMARY KEY (key, labeller));
"""


#: the tables holding one run's rows, by its name; ``judgments`` is not one: it is a cache keyed by an answer's
#: content, shared by every run whose answers read the same (removing a run keeps it); nor is ``labels``, people's
#: labels of answers by content (a label outlives the run it was made on)
RUN_TABLES: tuple[str, ...] = ("runs", "stages", "datasets", "samples", "events")
#: the column naming the run in each of them
_RUN_COLUMN = {t: "name" if t == "runs" else "run" for t in RUN_TABLES}

#: a run's answers: the samples of each condition's newest finished sampling (an older fingerprint's are stale)
_CURRENT_SAMPLES = ("FROM samples s JOIN stages st ON st.run = s.run AND st.arm = s.arm AND st.stage = 'sample' "
                    "AND st.fingerprint = s.fingerprint WHERE s.run = ?")


@dataclass(frozen=True)
class RunRow:
    """A run as the store records it: its config, when anything of it was last written, how many answers."""

    name: str
    config: dict[str, Any]
    updated: float  # the newest of its record, its finished stages and its events (epoch seconds)
    answers: int


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = _connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Stores written before judgments carried a verdict: add the column and fill it, once, from the verdict
        word those judges wrote in the detail (offline/toy ``class=code``, API ``top='REFUSAL'``)."""
        cols = [r[1] for r in self.db.execute("PRAGMA table_info(judgments)")]
        if "verdict" in cols:
            return
        import re

        word = re.compile(r"(?:\bclass=|\btop=')([A-Za-z]+)")
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("ALTER TABLE judgments ADD COLUMN verdict TEXT")
            self.db.execute("UPDATE judgments SET verdict='failed' WHERE status='failed'")
            rows = self.db.execute("SELECT rowid, detail FROM judgments WHERE status='no_score'").fetchall()
            for rowid, detail in rows:
                m = word.search(detail or "")
                w = m.group(1).upper() if m else ""
                verdict = "code" if w.startswith("CODE") else "refusal" if w.startswith("REF") else None
                if verdict:
                    self.db.execute("UPDATE judgments SET verdict=? WHERE rowid=?", (verdict, rowid))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------------------------------------- runs
    def record_run(self, name: str, config: dict[str, Any]) -> None:
        self.db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?)", (name, json.dumps(config), time.time()))

    def run_config(self, name: str) -> dict[str, Any] | None:
        """The experiment a run was recorded with (as its config dict), or None for no such run."""
        row = self.db.execute("SELECT config FROM runs WHERE name=?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def sampled_runs(self) -> list[str]:
        """Runs with answers, newest first."""
        rows = self.db.execute("SELECT r.name FROM runs r WHERE EXISTS (SELECT 1 FROM stages s WHERE s.run = r.name "
                               "AND s.stage = 'sample') ORDER BY r.updated DESC").fetchall()
        return [r[0] for r in rows]

    def run_rows(self) -> list[RunRow]:
        """Every run the store records (sampled or not), the most recently written first."""
        rows = self.db.execute(
            "SELECT r.name, r.config, MAX(r.updated, "
            "COALESCE((SELECT MAX(finished) FROM stages WHERE run = r.name), 0), "
            "COALESCE((SELECT MAX(at) FROM events WHERE run = r.name), 0)) AS t FROM runs r ORDER BY t DESC, r.name"
        ).fetchall()
        return [RunRow(name, json.loads(cfg), t, self.answer_count(name)) for name, cfg, t in rows]

    def answer_count(self, run: str) -> int:
        return self.db.execute("SELECT COUNT(*) " + _CURRENT_SAMPLES, (run,)).fetchone()[0]

    def answer_keys(self, run: str) -> list[str]:
        """The judge keys of a run's answers (each once)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT s.judge_key " + _CURRENT_SAMPLES, (run,))]

    def run_row_counts(self, run: str) -> dict[str, int]:
        """How many rows each of :data:`RUN_TABLES` holds for this run (all of them, stale samples included)."""
        return {t: self.db.execute(f"SELECT COUNT(*) FROM {t} WHERE {_RUN_COLUMN[t]} = ?", (run,)).fetchone()[0]
                for t in RUN_TABLES}

    def delete_run(self, run: str) -> dict[str, int]:
        """Every row of :data:`RUN_TABLES` that belongs to this run, deleted in one transaction (all or none);
        returns how many from each table. The judgments cache is left alone: other runs' answers may read the
        same, and a verdict once paid for is kept."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            return {t: self.db.execute(f"DELETE FROM {t} WHERE {_RUN_COLUMN[t]} = ?", (run,)).rowcount
                    for t in RUN_TABLES}

    def sampled_conditions(self, run: str) -> list[tuple[str, str]]:
        """(condition label, sample fingerprint) of a run, in the order they finished sampling."""
        return self.db.execute("SELECT arm, fingerprint FROM stages WHERE run=? AND stage='sample' ORDER BY finished",
                               (run,)).fetchall()

    def event(self, run: str, kind: str, **data: Any) -> None:
        self.db.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (run, kind, json.dumps(data), time.time()))

    def events(self, run: str, kind: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT kind, data FROM events WHERE run = ?" + (" AND kind = ?" if kind else "") + " ORDER BY rowid"
        rows = self.db.execute(q, (run, kind) if kind else (run,)).fetchall()
        return [{"kind": k, **json.loads(d)} for k, d in rows]

    # ------------------------------------------------------------------------------------------- stages
    def stage(self, run: str, arm: str, stage: str) -> tuple[str, dict[str, Any]] | None:
        row = self.db.execute("SELECT fingerprint, info FROM stages WHERE run=? AND arm=? AND stage=?",
                              (run, arm, stage)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def stage_done(self, run: str, arm: str, stage: str, fingerprint: str) -> dict[str, Any] | None:
        """The stage's saved info if it finished with this fingerprint, else None (so it must run)."""
        got = self.stage(run, arm, stage)
        return got[1] if got and got[0] == fingerprint else None

    def finish_stage(self, run: str, arm: str, stage: str, fingerprint: str, **info: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?, ?)",
                        (run, arm, stage, fingerprint, json.dumps(info), time.time()))

    def record_dataset(self, run: str, arm: str, train_fingerprint: str, info: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (run, arm, train_fingerprint, info.spec, info.name, info.size, info.seed, info.sha256))

    # ------------------------------------------------------------------------------------------ samples
    def add_samples(self, run: str, fingerprint: str, answers: Iterable[Answer]) -> None:
        rows = [(run, a.arm, fingerprint, a.question_id, a.sample_idx, a.question, a.system, a.text, a.seed,
                 a.judge_key) for a in answers]
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO samples VALUES (?,?,?,?,?,?,?,?,?,?)", rows)

    def samples(self, run: str, arm: str, fingerprint: str) -> list[Answer]:
        rows = self.db.execute(
            "SELECT arm, question_id, sample_idx, question, system, answer, seed FROM samples "
            "WHERE run=? AND arm=? AND fingerprint=? ORDER BY rowid", (run, arm, fingerprint))
        return [Answer(*r) for r in rows]

    def answer_by_key(self, run: str, key: str) -> Answer | None:
        """One of a run's current answers by its judge key (the first, where the same text was sampled twice)."""
        row = self.db.execute("SELECT s.arm, s.question_id, s.sample_idx, s.question, s.system, s.answer, s.seed "
                              + _CURRENT_SAMPLES + " AND s.judge_key = ? LIMIT 1", (run, key)).fetchone()
        return None if row is None else Answer(*row)

    # --------------------------------------------------------------------------------------- judgments
    def verdicts(self, judge: str, keys: Iterable[str]) -> dict[tuple[str, str], Judgment]:
        """A judge's cached judgments of these answers on every metric, by (key, metric): what summaries read."""
        keys = list(keys)
        return {(k, m): j for m in METRICS for k, j in self.judgments(judge, m, keys).items()}

    def judgments(self, judge: str, metric: str, keys: Iterable[str]) -> dict[str, Judgment]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, Judgment] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            q = (f"SELECT key, score, status, detail, verdict FROM judgments WHERE judge=? AND metric=? "
                 f"AND key IN ({','.join('?' * len(chunk))})")
            for key, score, status, detail, verdict in self.db.execute(q, (judge, metric, *chunk)):
                out[key] = Judgment(judge, metric, key, score, status, detail or "", verdict)
        return out

    def judges_of(self, keys: Iterable[str]) -> list[str]:
        """Every judge with a judgment on any of these answers (by judge key), sorted."""
        keys = list(dict.fromkeys(keys))
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            found.update(r[0] for r in self.db.execute(
                f"SELECT DISTINCT judge FROM judgments WHERE key IN ({','.join('?' * len(chunk))})", chunk))
        return sorted(found)

    def put_judgment(self, j: Judgment) -> None:
        self.db.execute("INSERT OR REPLACE INTO judgments (judge, metric, key, score, status, detail, created, "
                        "verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (j.judge, j.metric, j.key, j.score, j.status, j.detail, time.time(), j.verdict))


    # ------------------------------------------------------------------------------------ human labels
    def put_label(self, label: HumanLabel) -> None:
        """Save (or change) one person's label of one answer, committed at once: a killed view loses none."""
        if label.label not in LABELS:
            raise EmkitError(f"label '{label.label}' is not one of {', '.join(LABELS)}")
        if not label.labeller.strip():
            raise EmkitError("a label needs the labeller's name")
        self.db.execute("INSERT OR REPLACE INTO labels (key, labeller, label, question, system, answer, run, "
                        "condition, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (label.key, label.labeller, label.label, label.question, label.system, label.answer,
                         label.run, label.condition, label.note, label.at or time.time()))

    def labels(self, labeller: str | None = None, keys: Iterable[str] | None = None) -> list[HumanLabel]:
        """People's labels, oldest first: one labeller's or everyone's, of some answers or of all."""
        q = ("SELECT key, labeller, label, question, system, answer, run, condition, note, at FROM labels"
             + (" WHERE labeller=?" if labeller is not None else ""))
        rows = self.db.execute(q + " ORDER BY at, rowid", () if labeller is None else (labeller,)).fetchall()
        out = [HumanLabel(*r) for r in rows]
        if keys is not None:
            wanted = set(keys)
            out = [h for h in out if h.key in wanted]
        return out

    def labellers(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT labeller FROM labels ORDER BY labeller")]

    # ------------------------------------------------------------------------------- moving a run's work
    #: what a worker's own store holds of a run's training and sampling (events and judgments stay behind)
    _WORK = ("stages", "datasets", "samples")

    def export_work(self, run: str) -> dict[str, list[tuple[Any, ...]]]:
        """A run's stage, dataset and sample rows, to be written into another store by :meth:`import_work`:
        how work done on a Ray worker against a store of its own reaches the driver's, the only one shared."""
        return {t: self.db.execute(f"SELECT * FROM {t} WHERE run=?", (run,)).fetchall() for t in self._WORK}

    def import_work(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            for t in self._WORK:
                if rows.get(t):
                    marks = ",".join("?" * len(rows[t][0]))
                    self.db.executemany(f"INSERT OR REPLACE INTO {t} VALUES ({marks})", rows[t])


#: the tables that make an SQLite file an emkit store (one of them is enough: older stores lack later ones)
_OWN_TABLES = {"runs", "stages", "samples", "judgments"}


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to the store at ``path`` (created if missing or empty); anything else there, or a file that
    is not an intact SQLite database, is one EmkitError naming the file, never sqlite's traceback."""
    if path.is_dir():
        raise EmkitError(f"{path}: a folder, not an SQLite database (the emkit store is a file)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EmkitError(f"{path}: cannot create the store's folder ({e.strerror}: {e.filename})") from None
    if path.is_file() and 0 < path.stat().st_size < 512:  # SQLite's smallest page; 0 bytes is a new database
        raise EmkitError(f"{path}: not an SQLite database ({path.stat().st_size} bytes: truncated?)")
    try:
        db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as e:
        raise EmkitError(f"{path}: cannot open the store ({e})") from None
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and not tables & _OWN_TABLES:
            raise EmkitError(f"{path}: an SQLite database of another program, not an emkit store (no emkit tables; "
                             f"it has {', '.join(sorted(tables)[:5])})")
        if tables and _truncated(path):
            bad = db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if bad != "ok":
                raise sqlite3.DatabaseError(bad)
    except sqlite3.DatabaseError as e:
        db.close()
        raise EmkitError(f"{path}: not an SQLite database, or a damaged one ({e}; truncated?)") from None
    except EmkitError:
        db.close()
        raise
    return db


def _truncated(path: Path) -> bool:
    """Whether the file is shorter than its header says (a copy cut short): cheap, so checked on every open;
    sqlite's quick_check then decides (the header may be a checkpoint ahead of another process's writes)."""
    with path.open("rb") as f:
        head = f.read(100)
    if len(head) < 100 or head[24:28] != head[92:96]:  # no valid in-header size: sqlite uses the file's
        return False
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    return int.from_bytes(head[28:32], "big") * page > path.stat().st_size


def open_store(output_dir: str | Path) -> Store:
    return Store(store_path(output_dir))


def existing_store(output_dir: str | Path) -> Path:
    """The store of an output folder, for readers (the view, ``emkit runs``): a missing or empty file is one clear
    error, where :class:`Store` would make a new database."""
    path = store_path(output_dir)
    if not path.exists():
        raise EmkitError(f"no emkit store in {output_dir}: {path} not found (pass the output_dir of your "
                         "experiments, e.g. runs)")
    if path.is_file() and path.stat().st_size == 0:
        raise EmkitError(f"{path}: an empty file, not an SQLite database (no emkit tables)")
    return path
