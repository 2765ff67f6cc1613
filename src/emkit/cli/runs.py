"""``emkit runs``: the runs in an output folder: list them, show one's summary from the judge cache, remove one."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emkit.cli import render
from emkit.cli.common import JsonOpt, errors_as_one_line
from emkit.core.errors import EmkitError

runs_app = typer.Typer(no_args_is_help=True, help="The runs in an output folder: list them, show one, remove one.")

NameArg = Annotated[str, typer.Argument(help="the run's name (its experiment's name)")]
OutputDirOpt = Annotated[Path, typer.Option("--output-dir", help="the experiments' output_dir (holds emkit.sqlite)")]


@runs_app.command("list")
@errors_as_one_line
def runs_list(output_dir: Annotated[Path, typer.Argument(help="the experiments' output_dir (holds emkit.sqlite)")]
              = Path("runs"), as_json: JsonOpt = False) -> None:
    """Every run in the store, newest first: model, arms, answers, the judges that scored them, when it was last
    written, and whether its folder is still there."""
    from emkit.pipeline.runs import list_runs

    render.runs_table(list_runs(output_dir), output_dir, as_json)


@runs_app.command("show")
@errors_as_one_line
def runs_show(name: NameArg, output_dir: OutputDirOpt = Path("runs"), as_json: JsonOpt = False) -> None:
    """One run's summary as `emkit run` prints it, from the verdicts its judge left in the store: nothing is
    judged and no model is loaded."""
    from emkit.pipeline.runs import stored_summary

    render.stored_summary(stored_summary(output_dir, name), output_dir, as_json)


@runs_app.command("rm")
@errors_as_one_line
def runs_rm(name: NameArg, output_dir: OutputDirOpt = Path("runs"),
            yes: Annotated[bool, typer.Option("--yes", "-y", help="remove without asking")] = False) -> None:
    """Remove a run: its rows in the store (runs, stages, datasets, samples, events) and its folder. The judgments
    cache is kept (verdicts are keyed by answer content, shared by every run)."""
    from emkit.pipeline.runs import plan_removal, remove_run

    plan = plan_removal(output_dir, name)
    render.removal(plan)
    if not yes:
        if not sys.stdin.isatty():
            raise EmkitError(f"run '{name}' not removed: there is no terminal to confirm on (pass --yes to remove "
                             "it without asking)")
        if not typer.confirm(f"Remove run '{name}'?", default=False):
            typer.echo("not removed")
            raise typer.Exit(1)
    deleted = remove_run(plan)
    typer.echo(f"removed run '{name}': {sum(deleted.values())} rows"
               + (f" and the folder {plan.folder}" if plan.folder_exists else ""))
