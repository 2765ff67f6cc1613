"""``emkit --version``: emkit's version and the environment it runs in, without importing torch."""

from __future__ import annotations

from typing import Annotated

import typer

from emkit.cli import render


def _print_version(value: bool) -> None:
    if value:
        from emkit.core.environment import describe

        render.version(describe())
        raise typer.Exit()


def root(version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                               help="emkit's version and its environment (python, torch, "
                                                    "transformers, peft, platform, locks), then exit")]
         = False) -> None:
    """The options before any command (``emkit --version``)."""
