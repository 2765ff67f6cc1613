"""The slow tests' result cache (tests/input_cache.py): an entry is reused only while this checkout's inputs have
the bytes it was made from, even when the clone that made it still holds the old ones."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from input_cache import _key, _now, _sha, cached_run


def test_an_entry_from_another_clone_is_reused_only_for_the_same_bytes(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    out.mkdir()
    args = ["-c", f"import emkit.core.errors; open(r'{out / 'r.txt'}', 'w').write('x')"]
    env = {**os.environ}
    assert cached_run("probe", args, out, env) == "ran"
    assert cached_run("probe", args, out, env) == "cached"
    root = tmp_path / "cache" / "test-results" / "probe"
    (entry,) = [p for p in root.iterdir() if not p.name.startswith(".")]
    state = json.loads((entry / "state.json").read_text())
    # the same entry as another clone made it: its files elsewhere, same bytes: reused
    other = tmp_path / "clone"
    moved = {}
    src = Path(state["files"]["emkit"][0]).parent.parent  # this checkout's src/
    for name, (path, sha) in state["files"].items():
        copy = other / Path(path).relative_to(src)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, copy)
        moved[name] = [str(copy), sha]
    shutil.rmtree(entry)
    clone_state = {**state, "files": moved}
    (root / _key(clone_state) / "out").mkdir(parents=True)
    (root / _key(clone_state) / "state.json").write_text(json.dumps(clone_state))
    assert cached_run("probe", args, out, env) == "cached"
    # that clone's errors.py held other bytes than this checkout's (an older commit): not reused here
    stale = other / "emkit" / "core" / "errors.py"
    stale.write_text(stale.read_text() + "\n# an older commit\n")
    moved["emkit.core.errors"] = [str(stale), _sha(str(stale))]
    clone_state = {**state, "files": moved}
    for p in root.iterdir():
        shutil.rmtree(p)
    (root / _key(clone_state) / "out").mkdir(parents=True)
    (root / _key(clone_state) / "state.json").write_text(json.dumps(clone_state))
    assert _key(clone_state) != _key(_now({"files": {n: p for n, (p, _) in state["files"].items()},
                                           "dists": state["dists"]}, env))
    assert cached_run("probe", args, out, env) == "ran"
