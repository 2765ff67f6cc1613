"""Reading a user's text file (datasets, question sets, labelled answers) with one clear error for bad bytes, and
writing a state file whole or not at all.

A UTF-8 byte-order mark, which spreadsheet exports write, is accepted; UTF-16/32 and binary files are errors that
name the file (and the line of the first bad byte), never a Python traceback.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from emkit.core.errors import EmkitError

_WIDE_BOMS = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32", codecs.BOM_UTF16_LE: "UTF-16",
              codecs.BOM_UTF16_BE: "UTF-16"}


def read_text(path: str | Path) -> str:
    """The file's text, decoded as UTF-8 (a leading byte-order mark dropped)."""
    path = Path(path)
    data = path.read_bytes()
    for bom, name in _WIDE_BOMS.items():  # UTF-32 first: its LE mark starts with UTF-16's
        if data.startswith(bom):
            raise EmkitError(f"{path}: the file is {name} text; emkit reads UTF-8 (re-save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise EmkitError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); is it a "
                         "binary file? emkit reads UTF-8 text") from None


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``: a process killed mid-write
    leaves the old file or the new one, never a cut one (a resumed run reads its state back)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
