"""Generated blocks in the README: text a script wrote between `<!-- NAME:start -->` and `<!-- NAME:end -->`, so
no figure there outlives the code that made it (`make figures`, `make defences`). Imports nothing from emkit."""

from __future__ import annotations

from pathlib import Path


def write_block(path: Path, name: str, text: str) -> None:
    """Replace what stands between the block's markers with ``text``; a file without them is an error naming
    the markers looked for (a figure silently not written would read as current)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    src = path.read_text()
    if start not in src or end not in src:
        raise SystemExit(f"{path}: no generated block '{name}' (looked for {start} ... {end})")
    path.write_text(src[: src.index(start) + len(start)] + "\n" + text + src[src.index(end):])
