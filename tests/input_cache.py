"""A slow test's expensive result, kept by a digest of everything that made it, so that a second `make test` reuses
it and a change to any input makes it again.

The inputs are found, not listed: the command runs with ``-X importtime``, which names every module it imported
(lazily too). Each emkit module counts by its bytes (the training code and the calibration set, which is Python),
every other package by its installed version (torch, transformers, peft, the shipped encoder), and the interpreter,
the CPU kind (torch's kernel choice and the model name) and the thread settings by value. An entry is reused only
while every file it recorded still has the same bytes; ``EMKIT_TEST_NO_CACHE=1`` ignores the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from emkit.models.load import cache_dir

_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_CBWR", "ATEN_CPU_CAPABILITY",
               "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA")


def machine(env: dict[str, str]) -> dict[str, object]:
    import torch

    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"python": sys.version, "platform": [platform.machine(), *platform.libc_ver()], "cpu": model or platform.processor(),
            "capability": torch.backends.cpu.get_cpu_capability(), "cpus": cpus,
            "env": {k: env.get(k) for k in _THREAD_ENV}}


def _modules(importtime_log: str) -> list[str]:
    """Top-level-first module names from ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    names = []
    for line in importtime_log.splitlines():
        m = re.match(r"import time:\s+\d+\s+\|\s+\d+\s+\|\s*(\S+)", line)
        if m:
            names.append(m.group(1))
    return sorted(set(names))


def _sha(path: str) -> str:
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "gone"


def _inputs(modules: list[str], extra_dists: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """What each module stands for: an emkit module its file, another package its distribution."""
    files: dict[str, str] = {}
    dists = set(extra_dists)
    owners = importlib.metadata.packages_distributions()
    for name in modules:
        top = name.split(".")[0]
        if top == "emkit":
            spec = importlib.util.find_spec(name)
            if spec and spec.origin and spec.origin.endswith(".py"):
                files[name] = spec.origin
        dists.update(owners.get(top, []))
    return {"files": files, "dists": {d: "" for d in sorted(dists)}}


def _now(inputs: dict[str, dict[str, str]], env: dict[str, str]) -> dict[str, object]:
    """The inputs' state now: each file's sha256, each distribution's installed version, the machine."""
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "gone"

    return {"files": {name: [path, _sha(path)] for name, path in sorted(inputs["files"].items())},
            "dists": {d: version(d) for d in sorted(inputs["dists"])}, "machine": machine(env)}


def _origin(name: str) -> str:
    """Where an emkit module's file is in *this* checkout (an entry made in another clone names that clone's
    files, which may still hold the old bytes)."""
    spec = importlib.util.find_spec(name)
    return spec.origin if spec and spec.origin else ""


def _key(state: dict[str, object]) -> str:
    """By each module's bytes, not its path: the same inputs in another clone reuse the entry, other bytes don't."""
    files = {name: sha for name, (_, sha) in state["files"].items()}  # type: ignore[attr-defined]
    return hashlib.sha256(json.dumps({**state, "files": files}, sort_keys=True).encode()).hexdigest()[:32]


def cached_run(name: str, args: list[str], out: Path, env: dict[str, str], extra_dists: tuple[str, ...] = ()) -> str:
    """Run ``python -X importtime *args`` (which writes its results into ``out``), or copy the results of an
    earlier run whose inputs are all unchanged into ``out``. ``extra_dists``: packages it reads without importing
    them (a model shipped as package data). Returns "cached" or "ran"."""
    root = cache_dir() / "test-results" / name
    if not os.environ.get("EMKIT_TEST_NO_CACHE"):
        for entry in sorted(root.glob("[!.]*/state.json")):
            then = json.loads(entry.read_text())
            inputs = {"files": {name: _origin(name) for name in then["files"]}, "dists": then["dists"]}
            if entry.parent.name == _key(_now(inputs, env)):
                shutil.copytree(entry.parent / "out", out, dirs_exist_ok=True)
                return "cached"
    package = Path(importlib.util.find_spec("emkit").origin).parent  # type: ignore[arg-type, union-attr]
    before = {str(p): _sha(str(p)) for p in package.rglob("*.py")}
    done = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f"{args} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    main = [args[args.index("-m") + 1]] if "-m" in args else []  # run as __main__: not an import
    state = _now(_inputs(sorted({*_modules(done.stderr), *main}), extra_dists), env)
    if any(before.get(path) != sha for path, sha in state["files"].values()):  # type: ignore[union-attr]
        return "ran"  # a file it read changed while it ran: which bytes made the result is unknown, keep nothing
    keep = root / _key(state)
    tmp = root / f".{keep.name}.{os.getpid()}.{time.time_ns()}"
    shutil.copytree(out, tmp / "out")
    (tmp / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(keep, ignore_errors=True)
    tmp.rename(keep)
    for old in sorted(root.glob("[!.]*"), key=lambda p: p.stat().st_mtime)[:-4]:  # the latest four
        shutil.rmtree(old, ignore_errors=True)
    return "ran"
