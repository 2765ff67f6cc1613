"""One progress-bar style for every long stage (rich), quiet when ``EMKIT_QUIET=1``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


class Bar:
    def __init__(self, progress: Progress | None, task: Any):
        self._p, self._t = progress, task

    def advance(self, n: int = 1, **fields: Any) -> None:
        if self._p is not None:
            self._p.update(self._t, advance=n, **fields)

    def update(self, **fields: Any) -> None:
        if self._p is not None:
            self._p.update(self._t, **fields)


@contextmanager
def bar(description: str, total: int, completed: int = 0, info: str = "") -> Iterator[Bar]:
    if os.environ.get("EMKIT_QUIET") == "1":
        yield Bar(None, None)
        return
    cols = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}")]
    with Progress(*cols, console=console, transient=False) as p:
        yield Bar(p, p.add_task(description, total=total, completed=completed, info=info))


def log(msg: str) -> None:
    if os.environ.get("EMKIT_QUIET") != "1":
        console.print(msg, highlight=False, markup=False)
