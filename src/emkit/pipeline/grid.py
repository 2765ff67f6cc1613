"""Sweeps (``emkit sweep sweep.yaml``): a grid of settings over one experiment file, the arms' training and
sampling run as Ray tasks, one table across the grid.

A sweep file names an experiment file and a grid of ``--set`` keys with their values; every combination is one
experiment, named after the sweep and a hash of its point. Arms are grouped with their ``init_from`` parents and
each group is one Ray task that declares the CPUs and GPUs it needs and works against a store of its own on the
worker. The driver alone writes the shared store (SQLite on a cluster's network filesystem is not safe): it
imports each finished group's stages and answers, marks the group done with a fingerprint of its experiment,
then judges and summarises every experiment (training and sampling are found done). A killed sweep resumes with
the groups left. Ray is the engine (local with ``ray.init()``, a cluster with ``--address``); adapters and answer
files go under the output folder, which on a cluster must be a filesystem every node sees.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from emkit.core.config import (
    Experiment,
    experiment_from_dict,
    fingerprint,
    load_experiment,
    read_settings,
    resolve_path,
)
from emkit.core.errors import EmkitError
from emkit.core.progress import bar, log
from emkit.core.registry import first_error
from emkit.core.store import Store, open_store
from emkit.pipeline.finished import FinishedRun
from emkit.pipeline.run import check_inputs, run_experiment, train_and_sample


class Resources(BaseModel):
    """What one arm group's task asks Ray for (a 7B LoRA: ``num_gpus: 1``)."""

    model_config = ConfigDict(extra="forbid")
    num_cpus: float = Field(1, ge=0)
    num_gpus: float = Field(0, ge=0)


class SweepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    #: the experiment file every point starts from (relative to the sweep file)
    experiment: str
    #: ``--set`` key -> the values it takes; the grid is every combination
    grid: dict[str, list[Any]]
    #: where the points' runs and the shared store go (default: the experiment file's own output_dir)
    output_dir: str | None = None
    resources: Resources = Field(default_factory=Resources)
    base_dir: str = "."

    @field_validator("grid")
    @classmethod
    def _values(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not v:
            raise ValueError("the grid is empty: give at least one key with its values")
        for key, values in v.items():
            if not values:
                raise ValueError(f"grid key '{key}' has no values")
        return v


def load_sweep(path: str | Path) -> SweepConfig:
    path = Path(path)
    raw = read_settings(path, "sweep")
    raw.setdefault("base_dir", str(path.resolve().parent))
    try:
        return SweepConfig.model_validate(raw)
    except ValidationError as e:
        raise EmkitError(f"{path}: {first_error(e)}") from None


@dataclass
class Point:
    """One combination of the grid and the experiment it makes."""

    name: str
    params: dict[str, Any]
    experiment: Experiment


def expand(sweep: SweepConfig) -> list[Point]:
    """Every combination of the grid as an experiment; a bad value fails here, naming its point."""
    src = resolve_path(sweep.experiment, sweep.base_dir)
    keys = list(sweep.grid)
    out = []
    for values in itertools.product(*(sweep.grid[k] for k in keys)):
        params = dict(zip(keys, values, strict=True))
        name = f"{sweep.name}-{fingerprint(params)[:6]}"
        sets = [f"{k}={json.dumps(v)}" for k, v in params.items()] + [f"name={name}"]
        if sweep.output_dir is not None:
            sets.append(f"output_dir={json.dumps(str(resolve_path(sweep.output_dir, sweep.base_dir)))}")
        try:
            exp = load_experiment(src, sets)
        except EmkitError as e:
            raise EmkitError(f"sweep point {params}: {e}") from None
        out.append(Point(name, params, exp))
    return out


def arm_groups(exp: Experiment) -> list[list[str]]:
    """Arms that must run in one task: each arm with its ``init_from`` ancestors and descendants."""
    root: dict[str, str] = {}
    for arm in exp.arms:
        root[arm.name] = root[arm.init_from] if arm.init_from else arm.name
    groups: dict[str, list[str]] = {}
    for arm in exp.arms:
        groups.setdefault(root[arm.name], []).append(arm.name)
    return list(groups.values())


def group_key(exp: Experiment, arms: list[str]) -> str:
    """What a group's training and sampling depend on: the experiment without its judge and metrics."""
    return fingerprint("sweep-arms", exp.model_dump(mode="json", exclude={"judge", "metrics", "name"}), arms)


def arm_task(exp_raw: dict[str, Any], arms: list[str]) -> dict[str, Any]:
    """A group's training and sampling on a worker, against a store of its own; returns its rows for the
    driver's store. Adapters and answer files are written under the run folder as in a plain run."""
    exp = experiment_from_dict(exp_raw)
    exp.run_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d, Store(Path(d) / "worker.sqlite") as store:
        result = FinishedRun.of(exp)
        train_and_sample(exp, arms, check_inputs(exp), store, result)
        rows = store.export_work(exp.name)
    return {"rows": rows, "train_steps": result.train_steps, "answers_generated": result.answers_generated}


@dataclass
class SweepResult:
    sweep: SweepConfig
    points: list[Point]
    results: dict[str, FinishedRun]  # point name -> its run
    tasks_run: int  # arm groups computed by this call (the rest were done earlier)

    def frame(self) -> pd.DataFrame:
        """One row per (point, arm): the grid's values, the misaligned and coherent rates with n and CI."""
        rows = []
        for p in self.points:
            res = self.results.get(p.name)
            for s in res.summaries if res else []:
                if s.question_id != "ALL":
                    continue
                rows.append({"point": p.name, **p.params, "arm": s.arm, "misaligned": s.misaligned.rate,
                             "misaligned_lo": s.misaligned.lo, "misaligned_hi": s.misaligned.hi,
                             "n": s.misaligned.n, "coherent": s.coherent.rate})
        return pd.DataFrame(rows)


def run_sweep(sweep: SweepConfig, address: str | None = None, num_cpus: int | None = None) -> SweepResult:
    """Every point's arm groups through Ray (groups done earlier are skipped), then each point judged and
    summarised in the driver."""
    points = expand(sweep)
    out_dir = points[0].experiment.resolve(points[0].experiment.output_dir)
    with open_store(out_dir) as store:
        todo, total = [], 0
        for p in points:
            for arms in arm_groups(p.experiment):
                total += 1
                key = group_key(p.experiment, arms)
                if not store.stage_done(p.name, "+".join(arms), "sweep", key):
                    todo.append((p, arms, key))
        log(f"sweep {sweep.name}: {len(points)} points, {total} arm groups, {total - len(todo)} done earlier")
        failures: list[str] = []
        if todo:
            import ray

            if not ray.is_initialized():
                ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                         log_to_driver=False)
            task = ray.remote(arm_task).options(num_cpus=sweep.resources.num_cpus, num_gpus=sweep.resources.num_gpus)
            futures = {task.remote(p.experiment.model_dump(mode="json"), arms): (p, arms, key) for p, arms, key in todo}
            with bar(f"sweep {sweep.name}", total, completed=total - len(todo)) as pbar:
                while futures:
                    ready, _ = ray.wait(list(futures), num_returns=1)
                    p, arms, key = futures.pop(ready[0])
                    try:
                        got = ray.get(ready[0])
                    except Exception as e:  # noqa: BLE001 - a task's failure is reported with its point, the rest go on
                        cause = getattr(e, "cause", None) or e
                        failures.append(f"{p.name} {p.params} arms {arms}: {type(cause).__name__}: {cause}")
                        continue
                    store.import_work(got["rows"])  # the driver alone writes the store
                    store.finish_stage(p.name, "+".join(arms), "sweep", key, train_steps=got["train_steps"],
                                       answers_generated=got["answers_generated"])
                    pbar.advance(1, info=p.name)
    if failures:
        raise EmkitError(f"{len(failures)} of {len(todo)} arm groups failed (the others are saved; re-run to retry "
                         "the failed ones):\n  " + "\n  ".join(failures))
    results = {}
    with bar("judge and summarise", len(points)) as pbar:
        for p in points:
            results[p.name] = run_experiment(p.experiment)
            pbar.advance(1, info=p.name)
    return SweepResult(sweep, points, results, len(todo))
