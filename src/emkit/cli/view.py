"""``emkit view``: every run in a store, served or exported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from emkit.cli.common import errors_as_one_line
from emkit.core.errors import EmkitError


@errors_as_one_line
def view(output_dir: Annotated[Path, typer.Argument(help="the experiments' output_dir (holds emkit.sqlite)")]
         = Path("runs"),
         port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8765,
         export: Annotated[Path | None, typer.Option(help="write the pages to this folder as plain files "
                                                          "instead of serving them")] = None,
         inspect_log: Annotated[Path | None, typer.Option(help="write every run as inspect_ai logs (one per "
                                                               "condition) to this folder, for `inspect view`")]
         = None,
         run: Annotated[str | None, typer.Option(help="with --inspect-log: only this run")] = None,
         open_browser: Annotated[bool, typer.Option("--open", help="open the default browser")] = False) -> None:
    """Every run in a store, browsable: runs, run pages, comparisons, answers with filters and judges side by
    side. Served on 127.0.0.1 until Ctrl-C, or written out with --export / --inspect-log."""
    from emkit.view.app import export as export_pages
    from emkit.view.app import serve

    if run is not None and inspect_log is None:
        raise EmkitError("--run picks the run --inspect-log writes: pass --inspect-log DIR with it")
    if export is None and inspect_log is None:
        return serve(output_dir, port, open_browser)
    if export is not None:
        export_pages(output_dir, export)
    if inspect_log is not None:
        from emkit.view.inspect_log import write_store_inspect_logs

        files = write_store_inspect_logs(output_dir, inspect_log, run)
        typer.echo(f"wrote {len(files)} inspect_ai logs to {inspect_log} (see them: inspect view --log-dir "
                   f"{inspect_log})")
