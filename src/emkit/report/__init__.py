"""Presentation: a run's ``report.html``. This package owns every section and its place on the page; workflows
return records and never write HTML.

A section is saved as ``RUN/sections/NAME.html`` and spliced into the page in the order of the registered
sections (:data:`emkit.core.registry.SECTIONS`; :data:`ORDER` lists them), so a later workflow (interp, a
projection, a sweep) adds to a report without re-running the experiment. A new section: a module beside this one
with a function from a workflow's record to HTML and its ``SECTIONS.add(NAME, Section(NAME, order, render))``
(imported here, or by a plug-in); :func:`add` writes it. A world's readout section is registered by its plug-in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from emkit.analyses.chain import ChainResult
from emkit.analyses.interventions import InterventionResult, intervention_slug
from emkit.analyses.matrix import DirectionMatrix
from emkit.analyses.project import Projection
from emkit.core.paths import RunFolder
from emkit.core.registry import SECTIONS, Section
from emkit.interp.directions import CosineMatrix
from emkit.pipeline.finished import FinishedRun
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

__all__ = ["ORDER", "add", "add_chain", "add_cosines", "add_matrix", "add_projection", "add_section", "add_interventions",
           "order", "pct", "png", "remove_section", "write_run_report"]

# emkit's own sections and their places (a world's readout section is registered by its plug-in, with its place)
for _section in [
    Section("compare", 10, study=True, summary="pairwise differences between arms (a study table)"),
    Section("variants", 20, study=True, summary="arms x prompt variants (a study table)"),
    Section("icl", 30, study=True, summary="misaligned rate against in-context k (a study table)"),
    Section("realign", 40, study=True, summary="misaligned rate against re-alignment n (a study table)"),
    Section("dosage", 45, study=True, summary="misaligned rate against a mix's share of narrow examples (a study table)"),
    Section("narrow", 47, study=True, summary="narrow (train.kl) vs general: loss against adapter norm, and the "
            "continued narrow arm's EM onset (a study table)"),
    Section("language", 60, projection_section, summary="language vs weights (emkit project)"),
    Section("cosines", 70, summary="direction cosines (emkit directions compare --report)"),
    Section("matrix", 80, matrix_section, summary="the directions compared (emkit directions matrix)"),
    Section("interp", 90, lambda res: interp_section(res, res.model), summary="the interp chain (emkit interp)"),
    Section("steer", 100, summary="a steering sweep (emkit steer)"),
    Section("ablate", 110, summary="an ablation sweep (emkit ablate)"),
]:
    SECTIONS.add(_section.name, _section)


def order() -> tuple[str, ...]:
    """Every registered section's name, top to bottom (a name matches itself or NAME-...); unknown names go last."""
    return tuple(sorted(SECTIONS, key=lambda name: SECTIONS[name].order))


def __getattr__(name: str) -> Any:
    if name == "ORDER":  # derived, so a section registered later (a plug-in's, a test's) takes its place
        return order()
    if name == "STUDY_SECTIONS":
        return tuple(n for n in order() if SECTIONS[n].study or SECTIONS[n].readout)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_OLD_PREFIX = re.compile(r"^\d+-")  # sections were once named with ordering numbers ("50-interp")


def _rank(name: str, names: tuple[str, ...]) -> tuple[int, str]:
    base = _OLD_PREFIX.sub("", name)
    for i, key in enumerate(names):
        if base == key or base.startswith(key + "-"):
            return i, base
    return len(names), base


def _sections(run_dir: Path) -> list[str]:
    folder = RunFolder(run_dir).sections
    names = order()
    files = sorted(folder.glob("*.html"), key=lambda p: _rank(p.stem, names)) if folder.is_dir() else []
    return [p.read_text(encoding="utf-8") for p in files]


def _save(run_dir: Path, name: str, fragment: str) -> Path:
    folder = RunFolder(run_dir).sections
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"*-{name}.html"):  # the same section under its old numbered name
        if _OLD_PREFIX.match(old.name):
            old.unlink()
    out = folder / f"{name}.html"
    out.write_text(fragment, encoding="utf-8")
    return out


def _drop(run_dir: Path, name: str) -> bool:
    folder = RunFolder(run_dir).sections
    gone = [p for p in folder.glob("*.html") if _OLD_PREFIX.sub("", p.stem) == name] if folder.is_dir() else []
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
    report = RunFolder(run_dir).report
    if report.is_file():
        text = report.read_text(encoding="utf-8")
        a, b = text.find(SECTIONS_START), text.find(SECTIONS_END)
        if not (a >= 0 and b > a):  # a report written before sections existed: they go at the end
            text, a = text + SECTIONS_START + SECTIONS_END, len(text)
            b = a + len(SECTIONS_START)
        report.write_text(text[: a + len(SECTIONS_START)] + "".join(_sections(run_dir)) + text[b:],
                          encoding="utf-8")


def write_run_report(result: FinishedRun) -> Path:
    """The run's page, with the study sections its experiment calls for (stale ones removed) and every section
    a later workflow added."""
    exp, run_dir = result.experiment, result.run_dir
    found = study_sections(result.studies) if result.studies else {}
    readouts = result.studies.readouts if result.studies else {}
    decided = [SECTIONS[n] for n in order() if SECTIONS[n].study or SECTIONS[n].readout]
    for s in decided:  # a world's readout, rendered by the section its plug-in registered
        if s.readout in readouts:
            found[s.name] = s.html(readouts[s.readout])
    for name in (s.name for s in decided):  # the page is written once below, with every section in its place
        if name not in found:
            _drop(run_dir, name)
    for name, fragment in found.items():
        _save(run_dir, name, fragment)
    return write_report(result.report, name=exp.name, config=exp.model_dump(mode="json"),
                        summaries=result.summaries, answers=result.answers, judgments=result.judgments,
                        judge_info=result.judge_info, losses=result.losses, monitor=result.monitor,
                        notes=result.notes, sections=_sections(run_dir), validated_on=exp.judge.validated_on(),
                        heldout=result.heldout, stopped=result.stopped, training=result.training,
                        rewards=result.rewards)


def add(run_dir: str | Path, name: str, record: Any, slug: str | None = None) -> Path:
    """The registered section ``name`` rendered from its workflow's record and added to the run's report (as
    ``NAME-SLUG`` when a run has several of it, e.g. one per arm)."""
    if name not in SECTIONS:
        raise KeyError(f"no report section '{name}' is registered (known: {', '.join(order())})")
    return add_section(run_dir, f"{name}-{slug}" if slug else name, SECTIONS[name].html(record))


def add_chain(result: ChainResult) -> Path:
    """The interp chain's section."""
    return add(result.run_dir, "interp", result)


def add_interventions(run_dir: str | Path, res: InterventionResult) -> Path:
    """A steering or ablation sweep's section (``emkit steer`` / ``emkit ablate``)."""
    plot = steering_plot(res) if res.what == "steer" else bars(res)
    return add_section(run_dir, intervention_slug(res), f"<h2>{res.what.capitalize()}: {res.direction} in {res.arm}</h2>"
                       + plot + sweep_table(res))


def add_projection(run_dir: str | Path, res: Projection) -> Path:
    """Language vs weights (``emkit project``), one section per reading (prompt, answer)."""
    return add(run_dir, "language", res, res.read)


def add_cosines(run_dir: str | Path, cm: CosineMatrix, layer: int | None, title: str) -> Path:
    """Direction cosines (``emkit directions compare --report``)."""
    return add_section(run_dir, "cosines", cosine_section(cm, layer, title))


def add_matrix(dm: DirectionMatrix, run_dir: str | Path) -> Path:
    """The directions compared (``emkit directions matrix``), one section per arm."""
    return add(run_dir, "matrix", dm, dm.arm)
