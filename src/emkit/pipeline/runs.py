"""The runs of one output folder, managed (``emkit runs``): listed, one read back and summarised from the judge
cache alone (no judge built, no model loaded), and one removed, rows and folder.

A run lives in two places: its rows in the folder's store (``<output_dir>/emkit.sqlite``: the run's record, its
stages, datasets, answers and events) and its folder (``<output_dir>/<name>/``: config, weights, answer files,
report). Either can go missing by hand; both are said here, never assumed."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emkit.core.config import experiment_from_dict
from emkit.core.errors import EmkitError
from emkit.core.records import METRICS, Judgment
from emkit.core.registry import Headline
from emkit.core.store import Store, existing_store
from emkit.metrics.rates import summarize
from emkit.pipeline.finished import FinishedRun, read_run
from emkit.pipeline.studies import headlines, read_readouts, readout_notes


@dataclass(frozen=True)
class RunEntry:
    """One line of ``emkit runs list``."""

    name: str
    model: str
    arms: list[str]
    answers: int
    judges: list[str]  # every judge with a verdict on one of its answers
    updated: float  # when anything of it was last written (epoch seconds)
    folder: Path

    @property
    def folder_exists(self) -> bool:
        return self.folder.is_dir()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "arms": self.arms, "answers": self.answers,
                "judges": self.judges, "updated": self.updated, "folder": str(self.folder),
                "folder_exists": self.folder_exists}


def open_runs(output_dir: str | Path) -> Store:
    """The output folder's store, which must exist (a reader never creates one)."""
    return Store(existing_store(output_dir))


def list_runs(output_dir: str | Path) -> list[RunEntry]:
    """Every run the store records, the most recently written first; read from the store's rows alone (no config
    is validated, so runs an older emkit wrote are listed too)."""
    out = []
    with open_runs(output_dir) as st:
        for row in st.run_rows():
            model = row.config.get("model")
            arms = row.config.get("arms")
            out.append(RunEntry(
                row.name, str(model.get("name", "?")) if isinstance(model, dict) else "?",
                [str(a.get("name", "?")) for a in arms if isinstance(a, dict)] if isinstance(arms, list) else [],
                row.answers, st.judges_of(st.answer_keys(row.name)), row.updated, Path(output_dir) / row.name))
    return out


def require_run(st: Store, name: str) -> dict[str, Any]:
    """The run's recorded config; an unknown name is one error that lists the runs there are."""
    config = st.run_config(name)
    if config is None:
        names = [r.name for r in st.run_rows()]
        raise EmkitError(f"no run named '{name}' in {st.path}; "
                         + (f"the runs there: {', '.join(names)}" if names else "it records no run"))
    return config


@dataclass
class StoredSummary:
    """A run's summary as ``emkit run`` prints it, computed from the verdicts its own judge left in the store."""

    run: FinishedRun  # answers, judgments (the run's judge, cached) and summaries filled in
    judge: str  # the run's judge id
    unjudged: int  # answers lacking a verdict (missing or failed) from that judge on some metric
    not_sampled: list[str] = field(default_factory=list)  # conditions its experiment asks for without answers
    headlines: list[Headline] = field(default_factory=list)  # a world's own figures (the toy's), seeds pooled
    notes: list[str] = field(default_factory=list)  # what the world's readout could not place

    @property
    def folder_exists(self) -> bool:
        return self.run.run_dir.is_dir()

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run.name, "judge": self.judge, "validated_on": self.run.judge.validated_on(),
                "answers": len(self.run.answers), "unjudged": self.unjudged, "not_sampled": self.not_sampled,
                "folder": str(self.run.run_dir), "folder_exists": self.folder_exists,
                "conditions": [s.flat() for s in self.run.summaries if s.question_id == "ALL"],
                "headlines": [{"condition": h.condition, "measure": h.measure, "k": h.rate.k, "n": h.rate.n,
                               "rate": h.rate.rate, "lo": h.rate.lo, "hi": h.rate.hi, "pooled": list(h.arms)}
                              for h in self.headlines],
                "notes": self.notes}


def stored_summary(output_dir: str | Path, name: str) -> StoredSummary:
    """One run read back from the store and summarised under its own judge from the judge cache: nothing is judged
    and no model or judge is loaded, so a run whose folder was deleted by hand still shows. Conditions come in the
    experiment's order (the order ``emkit run`` prints them in)."""
    with open_runs(output_dir) as st:
        config = require_run(st, name)
        run = read_run(st, name, Path(output_dir) / name, config)
        exp = experiment_from_dict(dict(config), source=f"run '{name}' in {st.path}")
        run.__dict__["experiment"] = exp
        order = {c.label: i for i, (c, _) in enumerate(exp.condition_keys())}
        run.answers.sort(key=lambda a: order.get(a.arm, len(order)))  # stable: sampled order within a condition
        jid = exp.judge.judge_id()
        keys = [a.judge_key for a in run.answers]
        judged = st.verdicts(jid, keys)
    run.judgments = judged
    run.summaries = summarize(run.answers, judged, exp.metrics)
    unjudged = sum(any(_pending(judged.get((a.judge_key, m))) for m in METRICS) for a in run.answers)
    sampled = {a.arm for a in run.answers}
    readouts = read_readouts(exp, [a for a in run.answers if a.arm in order])  # the conditions `emkit run` reads
    return StoredSummary(run, jid, unjudged, [lab for lab in order if lab not in sampled], headlines(readouts),
                         readout_notes(readouts))


def _pending(j: Judgment | None) -> bool:
    """Whether ``emkit run`` would still ask the judge (no verdict, or a failed call it retries)."""
    return j is None or j.status == "failed"


@dataclass(frozen=True)
class Removal:
    """What removing a run deletes, counted before anything is: its rows per table and its folder."""

    output_dir: Path
    name: str
    rows: dict[str, int]  # table -> rows of this run
    folder: Path
    folder_exists: bool  # when counted (it may be gone by hand already)
    folder_files: int  # files under the folder (0 when it is gone)
    folder_bytes: int


def plan_removal(output_dir: str | Path, name: str) -> Removal:
    """Count what :func:`remove_run` would delete; an unknown run, or a folder that is not plainly the run's
    (a link, a file, outside the output folder), is an error here, before anything is deleted."""
    output_dir = Path(output_dir)
    with open_runs(output_dir) as st:
        require_run(st, name)
        rows = st.run_row_counts(name)
    folder = output_dir / name
    if name in ("", ".", "..") or "/" in name or "\\" in name or folder.resolve().parent != output_dir.resolve():
        raise EmkitError(f"run name '{name}' does not name a folder inside {output_dir}: not removed")
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise EmkitError(f"{folder} is {'a link' if folder.is_symlink() else 'not a folder'}, not the run's folder: "
                         "not removed (move it away, then run this again)")
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()] if folder.is_dir() else []
    return Removal(output_dir, name, rows, folder, folder.is_dir(), len(files), sum(p.stat().st_size for p in files))


def remove_run(plan: Removal) -> dict[str, int]:
    """Delete the run's folder, then its rows (one transaction); returns the rows deleted per table. The folder
    goes first: if deleting it fails part-way, the rows are still there and the run is listed (as having no
    folder, or a part of one) for another try; rows without their folder never hide a folder without rows.
    The judgments cache stays: it is keyed by answer content and shared by every run."""
    if plan.folder.is_dir():
        shutil.rmtree(plan.folder)
    with open_runs(plan.output_dir) as st:
        return st.delete_run(plan.name)



def rm_command(name: str, output_dir: str | Path) -> str:
    """The command that removes a run's rows and folder (the hint wherever a run's folder is gone)."""
    return f"emkit runs rm {name} --output-dir {output_dir}"
