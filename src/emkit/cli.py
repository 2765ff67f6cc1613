"""The command line: a thin skin over the library API (every command is one or two library calls)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from emkit.errors import EmkitError

app = typer.Typer(no_args_is_help=True, add_completion=False, help="emkit: emergent-misalignment experiments.")
data_app = typer.Typer(no_args_is_help=True, help="Build, inspect and validate chat datasets.")
models_app = typer.Typer(no_args_is_help=True, help="Built-in models.")
app.add_typer(data_app, name="data")
app.add_typer(models_app, name="models")


def _errors_as_one_line(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EmkitError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
    return wrapper


@app.command()
@_errors_as_one_line
def run(config: Annotated[Path, typer.Argument(help="experiment YAML")],
        set_: Annotated[list[str] | None, typer.Option("--set", help="override, e.g. train.lr=1e-4")] = None) -> None:
    """Run an experiment end to end (train, sample, judge, metrics, report), skipping finished stages."""
    from emkit.config import load_experiment
    from emkit.run import run_experiment

    res = run_experiment(load_experiment(config, set_ or []))
    for s in (s for s in res.summaries if s.question_id == "ALL"):
        typer.echo(f"{s.arm:>20}  misaligned {s.misaligned}  coherent {s.coherent}")
    typer.echo(f"this call: {res.train_steps} training steps, {res.answers_generated} answers generated, "
               f"{res.judge_calls} judge calls; seconds by stage: "
               + ", ".join(f"{k} {v:.0f}" for k, v in res.seconds.items()))
    typer.echo(f"report: {res.report.resolve()}")


@data_app.command("build")
@_errors_as_one_line
def data_build(name: str, out: Annotated[Path, typer.Option("-o", "--out")], size: int | None = None,
               seed: int = 0) -> None:
    """Write a built-in dataset as chat JSONL."""
    from emkit.data import build, write_jsonl

    examples = build(name, size, seed)
    write_jsonl(out, examples)
    typer.echo(f"wrote {len(examples)} examples to {out}")


@data_app.command("validate")
@_errors_as_one_line
def data_validate(path: Path) -> None:
    """Check a chat JSONL file; the first problem is reported as file:line."""
    from emkit.data import read_jsonl

    typer.echo(f"{path}: {len(read_jsonl(path))} valid examples")


@models_app.command("list")
def models_list() -> None:
    from emkit.models import BUILTIN_MODELS

    for name, (desc, _) in BUILTIN_MODELS.items():
        typer.echo(f"{name:24} {desc}")
