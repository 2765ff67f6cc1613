"""The command line, assembled: the top-level commands and the command groups, each from its own module.

Each module parses its commands' arguments, calls the library and prints; tables and ``--json`` output are
:mod:`emkit.cli.render`'s. The order below is the order ``emkit --help`` lists them in.
"""

from __future__ import annotations

import typer

from emkit.cli.common import ReadAt, Reader, Split, Writer
from emkit.cli.data import data_app
from emkit.cli.directions import directions_app
from emkit.cli.interp import ablate, interp, phases, project, screen, steer
from emkit.cli.judge import judge_app
from emkit.cli.models import models_app
from emkit.cli.run import run
from emkit.cli.runs import runs_app
from emkit.cli.sae import sae_app
from emkit.cli.sweep import sweep
from emkit.cli.toy import toy_app
from emkit.cli.version import root
from emkit.cli.view import view

__all__ = ["ReadAt", "Reader", "Split", "Writer", "app"]  # the choices, for the test that they are the library's

app = typer.Typer(no_args_is_help=True, add_completion=False, help="emkit: emergent-misalignment experiments.")
app.callback()(root)  # emkit --version

for command in (run, view, interp, steer, ablate, project, phases, sweep, screen):
    app.command()(command)

app.add_typer(runs_app, name="runs")
app.add_typer(data_app, name="data")
app.add_typer(sae_app, name="sae")
app.add_typer(toy_app, name="toy")
app.add_typer(directions_app, name="directions")
app.add_typer(models_app, name="models")
app.add_typer(judge_app, name="judge")
