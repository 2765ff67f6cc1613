"""The command line: one module per command group that parses arguments, calls the library and prints;
tables and ``--json`` output in :mod:`emkit.cli.render`; :mod:`emkit.cli.main` assembles the app."""

from emkit.cli.main import app

__all__ = ["app"]
