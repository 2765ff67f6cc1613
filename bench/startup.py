"""Start-up benchmark: wall time of short emkit commands, each in a fresh interpreter, beside two baselines
measured in the same run (an empty interpreter, and one that imports torch), so the ratios hold on any machine.

The goal (issue 27): listing built-ins (``emkit data list``, ``emkit models list``) in under 2 s on 2 cores, far
from what importing torch alone costs. Not a test: nothing here asserts (tests/test_startup.py checks the imports).

    python bench/startup.py [--reps 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

#: what is timed: a label and the interpreter's arguments (the emkit CLI runs as ``python -m emkit``)
CASES = [
    ("python -c pass", ["-c", "pass"]),
    ("python -c 'import torch'", ["-c", "import torch"]),
    ("emkit --help", ["-m", "emkit", "--help"]),
    ("emkit data list", ["-m", "emkit", "data", "list"]),
    ("emkit models list", ["-m", "emkit", "models", "list"]),
    ("emkit data card insecure", ["-m", "emkit", "data", "card", "insecure"]),
]


def wall(args: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7, help="timed runs per command (after one untimed warm-up)")
    reps = ap.parse_args().reps
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)}
    for _, args in CASES:  # one warm-up each: the page cache, not the first run's disk reads, is measured
        wall(args, env)
    times: dict[str, list[float]] = {label: [] for label, _ in CASES}
    for _ in range(reps):  # interleaved, so a busy moment on the machine touches every command alike
        for label, args in CASES:
            times[label].append(wall(args, env))
    med = {label: statistics.median(t) for label, t in times.items()}
    empty, torch_ = med["python -c pass"], med["python -c 'import torch'"]
    print(f"median of {reps} runs each, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print(f"{'command':28} {'median s':>9} {'min s':>7} {'max s':>7} {'/ python':>9} {'/ torch':>8}")
    for label, t in times.items():
        print(f"{label:28} {med[label]:9.2f} {min(t):7.2f} {max(t):7.2f} {med[label] / empty:8.1f}x "
              f"{med[label] / torch_:7.2f}x")


if __name__ == "__main__":
    main()
