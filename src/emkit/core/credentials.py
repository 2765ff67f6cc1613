"""Credentials: an API key read from the environment variable a config names (never from the config itself)."""

from __future__ import annotations

import os

from emkit.core.errors import EmkitError


def api_key(env: str, base_url: str | None) -> str:
    """The key from its environment variable; a local server (a base_url) takes any key."""
    key = os.environ.get(env)
    if key:
        return key
    if base_url is None:
        raise EmkitError(f"the OpenAI API needs a key in the environment variable {env}")
    return "EMPTY"
