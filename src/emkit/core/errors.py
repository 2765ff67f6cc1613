"""One exception type for problems a user can fix: the CLI prints it as a single line, never a traceback."""

from __future__ import annotations


class EmkitError(Exception):
    """A user-facing error: bad input, missing model, malformed file. Its message is the whole story."""
