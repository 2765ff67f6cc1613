"""``emkit run``: an experiment end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emkit.cli import render
from emkit.cli.common import errors_as_one_line


@errors_as_one_line
def run(config: Annotated[Path, typer.Argument(help="experiment YAML")],
        set_: Annotated[list[str] | None, typer.Option("--set", help="override, e.g. train.lr=1e-4")] = None) -> None:
    """Run an experiment end to end (train, sample, judge, metrics, report), skipping finished stages."""
    from emkit.core.config import load_experiment
    from emkit.pipeline.run import run_experiment
    from emkit.report import write_run_report

    res = run_experiment(load_experiment(config, set_ or []))
    write_run_report(res)
    from emkit.pipeline.studies import headlines, readout_notes

    readouts = res.studies.readouts if res.studies else {}
    render.run_summary(res, res.summaries, headlines(readouts), readout_notes(readouts))
    typer.echo(f"this call: {res.train_steps} training steps, {res.answers_generated} answers generated, "
               f"{res.judge_calls} judge calls; seconds by stage: "
               + ", ".join(f"{k} {v:.0f}" for k, v in res.seconds.items()))
    typer.echo(f"report: {res.report.resolve()}")
