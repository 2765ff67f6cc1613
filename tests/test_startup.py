"""Listing built-ins starts fast (issue 27): ``emkit data list`` and ``emkit models list`` load every plug-in's
registrations, and none of them may pull in torch, transformers (seconds on 2 cores) or scipy.stats and
pandas. Checked by what a fresh interpreter has imported, not by timing (bench/startup.py times it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "transformers", "peft", "scipy", "pandas")

#: runs one command through the real app in this fresh interpreter, then reports its output and the heavy
#: modules it imported (click's standalone mode off, so the exit is ours)
_PROBE = """
import contextlib, io, json, sys
from emkit.cli import app
out = io.StringIO()
with contextlib.redirect_stdout(out):
    app(sys.argv[1:], standalone_mode=False)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"output": out.getvalue(), "heavy": heavy}}))
"""


def _run(*args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", _PROBE.format(heavy=set(HEAVY)), *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("args", [("data", "list"), ("models", "list"), ("data", "card", "toy_bad")])
def test_listing_builtins_imports_no_torch_or_transformers(args: tuple[str, ...]) -> None:
    got = _run(*args)
    assert got["heavy"] == [], f"emkit {' '.join(args)} imported {got['heavy']}"


def test_the_light_listing_still_sees_every_plugin() -> None:
    """The toy world's plug-in registers datasets and a model: they are listed, so plug-ins were loaded."""
    names = {line.split()[0] for line in str(_run("data", "list")["output"]).splitlines()}
    assert {"insecure", "benign", "mix", "toy_bad", "toy_aligned", "reward_hacks"} <= names and len(names) == 21
    models = {line.split()[0] for line in str(_run("models", "list")["output"]).splitlines()}
    assert {"smollm2-135m-instruct", "tiny-llama"} <= models and any(m.startswith("toy") for m in models)


def test_loading_every_plugin_registers_without_torch() -> None:
    """Every catalog's registrations (judges, samplers, trainers, the toy world) in a fresh interpreter."""
    code = ("import sys; from emkit.core.registry import JUDGES, SAMPLERS, TRAINERS, load_plugins; load_plugins(); "
            "print(sorted(JUDGES), sorted(SAMPLERS), sorted(TRAINERS)); "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    backends, heavy = done.stdout.splitlines()
    assert "'offline'" in backends and "'hf'" in backends and "'lora'" in backends and "'toy'" in backends
    assert heavy == "[]"
