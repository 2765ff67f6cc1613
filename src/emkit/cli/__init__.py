"""The command line: typer commands that parse arguments, call the API and print."""

from emkit.cli.main import app

__all__ = ["app"]
