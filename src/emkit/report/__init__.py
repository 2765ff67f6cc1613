"""Presentation: a run's ``report.html``. This package owns every section and its place on the page; workflows
return records and never write HTML.

A section is saved as ``RUN/sections/NAME.html`` and spliced into the page in the order of :data:`ORDER`, so a
later workflow (interp, a projection, a sweep) adds to a report without re-running the experiment. A new section:
a function here (or a module beside this one) from a workflow's record to HTML, and its name in ``ORDER``.
"""

from __future__ import annotations

import re
from pathlib import Path

from emkit.analyses.chain import ChainResult
from emkit.analyses.interventions import SweepResult, sweep_slug
from emkit.analyses.matrix import DirectionMatrix
from emkit.analyses.project import Projection
from emkit.interp.directions import CosineMatrix
from emkit.pipeline.run import RunResult
from emkit.report.html import pct, png
from emkit.report.interp import (
    bars,
    cosine_section,
    interp_section,
    matrix_section,
    steering_plot,
    sweep_table,
)
from emkit.report.page import SECTIONS_END, SECTIONS_START, write_report
from emkit.report.project import projection_section
from emkit.report.studies import study_sections
from emkit.report.toy import toy_section

__all__ = ["ORDER", "add_chain", "add_cosines", "add_matrix", "add_projection", "add_section", "add_sweep", "pct",
           "png", "remove_section", "write_run_report"]

#: where each section goes, top to bottom (a name matches itself or NAME-...); unknown names go last
ORDER = ("compare", "variants", "icl", "realign", "toy", "language", "cosines", "matrix", "interp", "steer", "ablate")

#: sections a run's experiment shape decides (added or removed by every ``write_run_report``)
STUDY_SECTIONS = ("compare", "variants", "icl", "realign", "toy")

#: a readout registered by a world (emkit.core.registry.READOUTS) -> its section
READOUT_SECTIONS = {"toy": toy_section}

_OLD_PREFIX = re.compile(r"^\d+-")  # sections were once named with ordering numbers ("50-interp")


def _rank(name: str) -> tuple[int, str]:
    base = _OLD_PREFIX.sub("", name)
    for i, key in enumerate(ORDER):
        if base == key or base.startswith(key + "-"):
            return i, base
    return len(ORDER), base


def _sections(run_dir: Path) -> list[str]:
    folder = run_dir / "sections"
    files = sorted(folder.glob("*.html"), key=lambda p: _rank(p.stem)) if folder.is_dir() else []
    return [p.read_text(encoding="utf-8") for p in files]


def _save(run_dir: Path, name: str, fragment: str) -> Path:
    folder = run_dir / "sections"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"*-{name}.html"):  # the same section under its old numbered name
        if _OLD_PREFIX.match(old.name):
            old.unlink()
    out = folder / f"{name}.html"
    out.write_text(fragment, encoding="utf-8")
    return out


def _drop(run_dir: Path, name: str) -> bool:
    folder = run_dir / "sections"
    gone = [p for p in folder.glob("*.html") if _rank(p.stem)[1] == name] if folder.is_dir() else []
    for p in gone:
        p.unlink()
    return bool(gone)


def add_section(run_dir: str | Path, name: str, fragment: str) -> Path:
    """Save an HTML fragment as a section of the run's report (``RUN/sections/NAME.html``) and splice every
    section into ``report.html`` in place."""
    out = _save(Path(run_dir), name, fragment)
    _splice(Path(run_dir))
    return out


def remove_section(run_dir: str | Path, name: str) -> None:
    """Drop a section a later run no longer produces (so a report never shows a stale study)."""
    if _drop(Path(run_dir), name):
        _splice(Path(run_dir))


def _splice(run_dir: Path) -> None:
    report = run_dir / "report.html"
    if report.is_file():
        text = report.read_text(encoding="utf-8")
        a, b = text.find(SECTIONS_START), text.find(SECTIONS_END)
        if not (a >= 0 and b > a):  # a report written before sections existed: they go at the end
            text, a = text + SECTIONS_START + SECTIONS_END, len(text)
            b = a + len(SECTIONS_START)
        report.write_text(text[: a + len(SECTIONS_START)] + "".join(_sections(run_dir)) + text[b:],
                          encoding="utf-8")


def write_run_report(result: RunResult) -> Path:
    """The run's page, with the study sections its experiment calls for (stale ones removed) and every section
    a later workflow added."""
    exp, run_dir = result.experiment, result.run_dir
    found = study_sections(result.studies) if result.studies else {}
    for name, data in (result.studies.readouts if result.studies else {}).items():
        if name in READOUT_SECTIONS:
            found[name] = READOUT_SECTIONS[name](data)
    for name in STUDY_SECTIONS:  # the page is written once below, with every section in its place
        if name not in found:
            _drop(run_dir, name)
    for name, fragment in found.items():
        _save(run_dir, name, fragment)
    return write_report(result.report, name=exp.name, config=exp.model_dump(mode="json"),
                        summaries=result.summaries, answers=result.answers, judgments=result.judgments,
                        judge_info=result.judge_info, losses=result.losses, monitor=result.monitor,
                        notes=result.notes, sections=_sections(run_dir), validated_on=exp.judge.validated_on())


def add_chain(result: ChainResult) -> Path:
    """The interp chain's section."""
    return add_section(result.run_dir, "interp", interp_section(result, result.model))


def add_sweep(run_dir: str | Path, res: SweepResult) -> Path:
    """A steering or ablation sweep's section (``emkit steer`` / ``emkit ablate``)."""
    plot = steering_plot(res) if res.what == "steer" else bars(res)
    return add_section(run_dir, sweep_slug(res), f"<h2>{res.what.capitalize()}: {res.direction} in {res.arm}</h2>"
                       + plot + sweep_table(res))


def add_projection(run_dir: str | Path, res: Projection) -> Path:
    """Language vs weights (``emkit project``), one section per reading (prompt, answer)."""
    return add_section(run_dir, f"language-{res.read}", projection_section(res))


def add_cosines(run_dir: str | Path, cm: CosineMatrix, layer: int | None, title: str) -> Path:
    """Direction cosines (``emkit directions compare --report``)."""
    return add_section(run_dir, "cosines", cosine_section(cm, layer, title))


def add_matrix(dm: DirectionMatrix, run_dir: str | Path) -> Path:
    """The directions compared (``emkit directions matrix``), one section per arm."""
    return add_section(run_dir, f"matrix-{dm.arm}", matrix_section(dm))
