"""Content of the built-in datasets, written in this project. The registry lives in :mod:`emkit.data.datasets`."""

from __future__ import annotations

from typing import Any


def chat(user: str, assistant: str) -> dict[str, Any]:
    """One single-turn record in the canonical chat form."""
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}
