from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("EMKIT_QUIET", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from scripted_judge_server import ScriptedJudge  # noqa: E402

from emkit.core.config import ModelConfig  # noqa: E402
from emkit.models.load import LoadedModel, load_model  # noqa: E402

# ------------------------------------------------------------------- running in parallel (pytest-xdist)
# pyproject's addopts run the suite on `-n auto` workers (at most 2, below) with `--dist loadgroup`. Each worker
# gets its share of the cores for torch's own threads: 2 workers of 2 threads each on 2 cores would spin against
# each other. Subprocesses a test starts (`emkit run` killed part-way, the judge rebuild) keep torch's default, as
# outside the tests. One test on its own: `pytest -n0 tests/test_x.py::test_y` runs in this process.

_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
if os.environ.get("PYTEST_XDIST_WORKER"):
    import torch

    torch.set_num_threads(max(1, _CPUS // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))

#: the tests that take longest (seconds on 2 cores), started first so that no long one is left for the end while
#: the other worker idles; a scheduling hint only: a stale name costs balance, never a result
LONG_FIRST = ("test_offline_judge_loads_in_seconds", "test_sweep_killed_then_resumed", "test_distill_save_and_use",
              "test_kill_minus_9_during_training", "test_variants_and_realignment_end_to_end",
              "test_kill_minus_9_mid_run_then_resume")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker per core, at most 2 (each imports torch; the kill tests and Ray want a spare core);
    PYTEST_XDIST_AUTO_NUM_WORKERS overrides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    return min(2, _CPUS)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests of a module with module-scoped fixtures (a built store, a browser) go to one worker together, so
    the fixture is built once; slow tests, then the long quick ones, come first in the queue (the same order on
    every worker: it only depends on the collection)."""
    for item in items:
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        # a module-scoped fixture defined in the test module itself (its baseid is the module's node id)
        shared = any(d.scope == "module" and d.baseid.endswith(".py") for ds in defs.values() for d in ds)
        if shared and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.path.stem))

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("slow"):
            return 0
        return 1 if any(item.name.startswith(p) for p in LONG_FIRST) else 2

    items.sort(key=rank)  # stable: collection order within a rank


# EMKIT_TEST_CPU_LOG=FILE: one line per test appended to FILE: seconds of wall time and of CPU time (user+sys of
# the test's process and of the subprocesses it waited for), to compare runs on a machine others are also using
_CPU_LOG = os.environ.get("EMKIT_TEST_CPU_LOG")


if _CPU_LOG:
    import resource
    import time

    def _cpu() -> float:
        return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                   for f in ("ru_utime", "ru_stime"))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
        wall, cpu = time.perf_counter(), _cpu()
        yield
        with open(_CPU_LOG, "a") as f:
            f.write(f"{time.perf_counter() - wall:.2f}\t{_cpu() - cpu:.2f}\t{item.nodeid}\n")


@pytest.fixture()
def judge_server() -> Iterator[ScriptedJudge]:
    with ScriptedJudge() as s:
        yield s


@pytest.fixture()
def tiny() -> LoadedModel:
    """A random 2-layer Llama with an in-process tokenizer: built once into the cache, loads in milliseconds."""
    return load_model(ModelConfig(name="tiny-llama"))
