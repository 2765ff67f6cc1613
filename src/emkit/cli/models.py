"""``emkit models``: the built-in models."""

from __future__ import annotations

import typer

models_app = typer.Typer(no_args_is_help=True, help="Built-in models.")


@models_app.command("list")
def models_list() -> None:
    from emkit.models.load import BUILTIN_MODELS

    for name, m in BUILTIN_MODELS.items():
        typer.echo(f"{name:24} {m.summary}")
