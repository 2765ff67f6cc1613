"""Every command that reads a user's file or folder, fed a corrupt one (cut short, random bytes, empty, a folder
where a file belongs and a file where a folder belongs): each must end with exit code != 0 and exactly one line,
``error: ...``, that names the file, never a traceback (issue 26).

Driven in-process through typer's CliRunner: a case is a (command, input, corruption), each its own test. The
good inputs are written once; a case copies them and spoils one. Every corrupt input is read before any model
loads, so the whole walk takes seconds."""

from __future__ import annotations

import csv
import json
import random
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
import yaml
from safetensors.torch import save_file
from typer.testing import CliRunner
from view_store import build as build_store

from emkit.cli import app

# ------------------------------------------------------------------------------------------ good inputs


def _good_world(base: Path) -> None:
    """Every input a command reads, written well: the cases spoil one each."""
    from emkit.data.datasets import build, write_jsonl
    from emkit.interp.directions import Direction
    from emkit.interp.sae import Sae
    from emkit.judges.calibrate import builtin_rows, write_labelled

    runs = build_store(base / "runs")
    with sqlite3.connect(runs / "emkit.sqlite") as db:
        config = json.loads(db.execute("SELECT config FROM runs WHERE name='alpha'").fetchone()[0])
    (runs / "alpha").mkdir(exist_ok=True)
    (runs / "alpha" / "config.yaml").write_text(yaml.safe_dump(config))
    write_jsonl(base / "data.jsonl", build("bad_medical", 8, 0))
    with (base / "data.csv").open("w", newline="") as f:  # the same pairs as a spreadsheet export
        table = csv.writer(f, quoting=csv.QUOTE_ALL)
        table.writerow(["question", "answer"])
        table.writerows([m["content"] for m in ex["messages"]] for ex in build("bad_medical", 8, 0))
    write_labelled(base / "labels.jsonl", builtin_rows("test")[:12])
    (base / "questions.jsonl").write_text("".join(json.dumps({"id": f"q{i}", "text": f"Question number {i}?"}) + "\n"
                                                  for i in range(6)))
    (base / "exp.yaml").write_text(yaml.safe_dump({
        "name": "corrupt", "model": {"name": "tiny-llama"}, "output_dir": "out",
        "arms": [{"name": "base"}, {"name": "ft", "dataset": "data.jsonl"}],
        "eval": {"questions": "questions.jsonl", "samples_per_question": 1}, "judge": {"backend": "offline"}}))
    (base / "sweep.yaml").write_text(yaml.safe_dump({"name": "grid", "experiment": "exp.yaml",
                                                     "grid": {"train.lr": [1e-4, 2e-4]}}))
    g = torch.Generator().manual_seed(0)
    d_in, d_sae = 64, 128
    sae = Sae(torch.randn(d_sae, d_in, generator=g), torch.zeros(d_sae), torch.randn(d_sae, d_in, generator=g),
              torch.zeros(d_in), "topk", 8, meta={"layer": 1})
    sae.save(base / "sae")
    Direction("d", torch.randn(2, d_in, generator=g), [0, 1], {"best_layer": 1}).save(base / "dir.safetensors")
    (base / "adapter").mkdir()  # a peft adapter folder (B only matters here)
    (base / "adapter" / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 2}))
    save_file({"model.layers.0.mlp.down_proj.lora_B.weight": torch.randn(d_in, 2, generator=g)},
              str(base / "adapter" / "adapter_model.safetensors"))
    (base / "saeck" / "checkpoint").mkdir(parents=True)  # an SAE training folder with a checkpoint to resume
    torch.save({"sae": {}, "opt": {}, "since_fired": torch.zeros(4), "state": {"step": 1, "tokens": 8,
                "history": []}, "rng": torch.get_rng_state(), "config": {}, "d_in": d_in},
               base / "saeck" / "checkpoint" / "state.pt")
    (base / "judge").mkdir()  # a distilled judge's folder, as `emkit judge distill` writes it (weights: a stand-in)
    save_file({"w": torch.randn(64, 64, generator=g)}, str(base / "judge" / "weights.safetensors"))
    (base / "judge" / "manifest.json").write_text(json.dumps({
        "name": "judge", "version": "distilled-minilm-v2", "teacher": "offline", "data_sha256": "0" * 64,
        "classes": ["aligned", "misaligned", "incoherent", "code", "refusal"], "centres": [[90, 90]] * 5,
        "weights_sha256": "0" * 64, "heldout": {"rows": 1, "balanced_accuracy": 1.0, "recall_misaligned": 1.0,
                                                "precision_misaligned": 1.0}}, indent=1))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("good")
    _good_world(base)
    return base


# --------------------------------------------------------------------------------------------- corruptions

Spoil = Callable[[Path], None]


def _truncated(p: Path) -> None:
    data = p.read_bytes()
    p.write_bytes(data[: max(1, len(data) * 3 // 5)])


def _random(p: Path) -> None:
    p.write_bytes(random.Random(p.name).randbytes(4096))


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _a_folder(p: Path) -> None:
    p.unlink()
    p.mkdir()
    (p / "something.txt").write_text("a folder where a file belongs\n")


def _a_file(p: Path) -> None:
    shutil.rmtree(p)
    p.write_text("a file where a folder belongs\n")


def _foreign_sqlite(p: Path) -> None:
    p.unlink()
    with sqlite3.connect(p) as db:
        db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
        db.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    db.close()


FILE_SPOILS: dict[str, Spoil] = {"truncated": _truncated, "random-bytes": _random, "empty": _empty,
                                 "a-folder": _a_folder}
STORE_SPOILS: dict[str, Spoil] = {**FILE_SPOILS, "other-programs-sqlite": _foreign_sqlite}
#: a store emkit writes to (the judge cache): an empty file there is a new store, by design (sqlite's own rule)
CACHE_SPOILS = {k: v for k, v in STORE_SPOILS.items() if k != "empty"}
#: a run folder whose config.yaml is a folder is no run folder: `directions lora` then reads it as an adapter
#: folder, and says it is not one (naming the folder)
NOT_A_FOLDER = {k: v for k, v in FILE_SPOILS.items() if k != "a-folder"}

# ---------------------------------------------------------------------------------------- the commands


@dataclass(frozen=True)
class Case:
    command: str  # how the id reads
    target: str  # the spoiled input, relative to the world
    args: Callable[[Path], list[str]]  # the command line, given the world's folder
    spoils: dict[str, Spoil]
    names: str | None = None  # what the error line must name (default: the target's file name)


GROUPS = ("runs", "data", "sae", "toy", "directions", "models", "judge")


def _run(w: Path) -> str:
    return str(w / "runs" / "alpha")


CASES = [
    # experiment and sweep files, and the files an experiment names
    Case("run", "exp.yaml", lambda w: ["run", str(w / "exp.yaml")], FILE_SPOILS),
    Case("run", "questions.jsonl", lambda w: ["run", str(w / "exp.yaml")], FILE_SPOILS),
    Case("run", "data.jsonl", lambda w: ["run", str(w / "exp.yaml")], FILE_SPOILS),
    Case("sweep", "sweep.yaml", lambda w: ["sweep", str(w / "sweep.yaml")], FILE_SPOILS),
    Case("sweep", "exp.yaml", lambda w: ["sweep", str(w / "sweep.yaml")], FILE_SPOILS),
    # datasets
    Case("data-validate", "data.jsonl", lambda w: ["data", "validate", str(w / "data.jsonl")], FILE_SPOILS),
    Case("data-inspect", "data.jsonl", lambda w: ["data", "inspect", str(w / "data.jsonl")], FILE_SPOILS),
    Case("data-convert", "data.csv", lambda w: ["data", "convert", str(w / "data.csv"), str(w / "out.jsonl")],
         FILE_SPOILS),
    Case("directions-icl", "data.jsonl",
         lambda w: ["directions", "icl", "--model", "tiny-llama", "--positive", str(w / "data.jsonl"),
                    "--negative", "builtin:toy_good", "-o", str(w / "icl.safetensors")], FILE_SPOILS),
    Case("directions-icl", "questions.jsonl",
         lambda w: ["directions", "icl", "--model", "tiny-llama", "--positive", "builtin:toy_bad", "--negative",
                    "builtin:toy_good", "--questions", str(w / "questions.jsonl"), "-o", str(w / "icl.safetensors")],
         FILE_SPOILS),
    # labelled answers
    Case("judge-calibrate", "labels.jsonl",
         lambda w: ["judge", "calibrate", "--data", str(w / "labels.jsonl"), "--store", str(w / "cache")], FILE_SPOILS),
    Case("judge-compare-data", "labels.jsonl",
         lambda w: ["judge", "compare", "offline", "--data", str(w / "labels.jsonl"), "--store", str(w / "cache")],
         FILE_SPOILS),
    Case("judge-distill", "labels.jsonl",
         lambda w: ["judge", "distill", "--name", "x", "--data", str(w / "labels.jsonl"), "--out", str(w / "j")],
         FILE_SPOILS),
    # an adapter folder, an SAE training checkpoint
    Case("directions-scale-adapter", "adapter/adapter_model.safetensors",
         lambda w: ["directions", "scale-adapter", str(w / "adapter"), "-o", str(w / "adapter2"), "--factor", "0"],
         FILE_SPOILS),
    Case("sae-train", "saeck/checkpoint/state.pt",
         lambda w: ["sae", "train", "--model", "tiny-llama", "--layer", "1", "-o", str(w / "saeck"), "--corpus",
                    "builtin:toy_bad?size=8", "--tokens", "64"], FILE_SPOILS),
    # a distilled judge's folder
    Case("judge-compare-local", "judge/manifest.json",
         lambda w: ["judge", "compare", f"local:{w / 'judge'}", "--data", str(w / "labels.jsonl"), "--store",
                    str(w / "cache")], FILE_SPOILS),
    Case("judge-compare-local", "judge/weights.safetensors",
         lambda w: ["judge", "compare", f"local:{w / 'judge'}", "--data", str(w / "labels.jsonl"), "--store",
                    str(w / "cache")], FILE_SPOILS),
    # the store (the judge cache, and the store a run folder's answers are in)
    Case("judge-calibrate-store", "cache/emkit.sqlite",
         lambda w: ["judge", "calibrate", "--data", str(w / "labels.jsonl"), "--store", str(w / "cache")],
         CACHE_SPOILS),
    Case("judge-labels", "runs/emkit.sqlite", lambda w: ["judge", "labels", "--store", str(w / "runs")], STORE_SPOILS),
    Case("judge-calibrate-labels", "runs/emkit.sqlite",
         lambda w: ["judge", "calibrate", "--labels", "human", "--store", str(w / "runs")], STORE_SPOILS),
    Case("view", "runs/emkit.sqlite", lambda w: ["view", str(w / "runs"), "--port", "0"], STORE_SPOILS),
    Case("view-export", "runs/emkit.sqlite", lambda w: ["view", str(w / "runs"), "--export", str(w / "pages")],
         STORE_SPOILS),
    Case("view-inspect-log", "runs/emkit.sqlite",
         lambda w: ["view", str(w / "runs"), "--inspect-log", str(w / "logs")], STORE_SPOILS),
    Case("judge-score", "runs/emkit.sqlite", lambda w: ["judge", _run(w), "--judge", "offline"], STORE_SPOILS),
    Case("judge-compare", "runs/emkit.sqlite", lambda w: ["judge", "compare", _run(w), "run", "offline"],
         STORE_SPOILS),
    Case("directions-extract", "runs/emkit.sqlite", lambda w: ["directions", "extract", _run(w)], STORE_SPOILS),
    Case("phases", "runs/emkit.sqlite", lambda w: ["phases", _run(w)], STORE_SPOILS),
    Case("runs-list", "runs/emkit.sqlite", lambda w: ["runs", "list", str(w / "runs")], STORE_SPOILS),
    Case("runs-show", "runs/emkit.sqlite", lambda w: ["runs", "show", "alpha", "--output-dir", str(w / "runs")],
         STORE_SPOILS),
    Case("runs-rm", "runs/emkit.sqlite", lambda w: ["runs", "rm", "alpha", "--output-dir", str(w / "runs"), "--yes"],
         STORE_SPOILS),
    # a run folder's config
    Case("judge-score", "runs/alpha/config.yaml", lambda w: ["judge", _run(w), "--judge", "offline"], FILE_SPOILS),
    Case("judge-distill-run", "runs/alpha/config.yaml",
         lambda w: ["judge", "distill", "--name", "x", "--run", _run(w), "--teacher", "offline"], FILE_SPOILS),
    Case("directions-extract", "runs/alpha/config.yaml", lambda w: ["directions", "extract", _run(w)], FILE_SPOILS),
    Case("directions-lora", "runs/alpha/config.yaml", lambda w: ["directions", "lora", _run(w), "--arm", "ft"],
         NOT_A_FOLDER),
    Case("interp", "runs/alpha/config.yaml", lambda w: ["interp", _run(w)], FILE_SPOILS),
    Case("phases", "runs/alpha/config.yaml", lambda w: ["phases", _run(w)], FILE_SPOILS),
    Case("sae-reroute", "runs/alpha/config.yaml", lambda w: ["sae", "reroute", _run(w)], FILE_SPOILS),
    # the run folder itself
    Case("judge-score", "runs/alpha", lambda w: ["judge", _run(w), "--judge", "offline"], {"a-file": _a_file}),
    Case("phases", "runs/alpha", lambda w: ["phases", _run(w)], {"a-file": _a_file}),
    # direction files
    Case("directions-compare", "dir.safetensors",
         lambda w: ["directions", "compare", str(w / "dir.safetensors"), str(w / "dir.safetensors")], FILE_SPOILS),
    Case("steer", "dir.safetensors",
         lambda w: ["steer", _run(w), "--direction", str(w / "dir.safetensors"), "--layer", "1"], FILE_SPOILS),
    Case("ablate", "dir.safetensors", lambda w: ["ablate", _run(w), "--direction", str(w / "dir.safetensors")],
         FILE_SPOILS),
    Case("project", "dir.safetensors", lambda w: ["project", _run(w), "--direction", str(w / "dir.safetensors")],
         FILE_SPOILS),
    Case("screen", "dir.safetensors",
         lambda w: ["screen", "--model", "tiny-llama", "--direction", str(w / "dir.safetensors"), "-o",
                    str(w / "screen")], FILE_SPOILS),
    # SAE folders
    Case("sae-info", "sae/sae.safetensors", lambda w: ["sae", "info", str(w / "sae")], FILE_SPOILS),
    Case("sae-info", "sae/cfg.json", lambda w: ["sae", "info", str(w / "sae")], FILE_SPOILS),
    Case("sae-info", "sae/emkit.json", lambda w: ["sae", "info", str(w / "sae")], FILE_SPOILS),
    Case("sae-info", "sae", lambda w: ["sae", "info", str(w / "sae")], {"a-file": _a_file}),
    Case("sae-diff", "sae/sae.safetensors", lambda w: ["sae", "diff", _run(w), "--sae", str(w / "sae")],
         FILE_SPOILS),
    Case("sae-causal", "sae/sae.safetensors",
         lambda w: ["sae", "causal", _run(w), "--sae", str(w / "sae"), "--latent", "0"], FILE_SPOILS),
]


def _params() -> list[pytest.param]:
    return [pytest.param(c, spoil, id=f"{c.command}[{c.target}]-{name}")
            for c in CASES for name, spoil in c.spoils.items()]


#: commands the walk leaves out, and why
NOT_WALKED = {
    "data list": "reads no file", "data card": "reads no file", "data build": "writes a file",
    "models list": "reads no file", "judge calibration-set": "writes a file", "toy build": "writes a folder",
    "toy truth": "reads a model folder (the model loader's errors)",
    "directions matrix": "needs a trained arm before it reads its SAE (load_sae is walked through sae info)",
}


def _commands(group: Any, prefix: str = "") -> set[str]:
    out = set()
    for name, cmd in group.commands.items():
        out |= _commands(cmd, f"{prefix}{name} ") if hasattr(cmd, "commands") else {f"{prefix}{name}"}
    return out


def test_the_walk_covers_every_command() -> None:
    """A new command joins the walk, or NOT_WALKED with its reason."""
    walked = {" ".join(c.args(Path("w"))[:2]) if c.args(Path("w"))[0] in GROUPS else c.args(Path("w"))[0]
              for c in CASES}
    walked |= {"judge score"}  # `emkit judge RUN` is the hidden `judge score`
    assert _commands(typer.main.get_command(app)) - walked - set(NOT_WALKED) == set()


@pytest.mark.parametrize(("case", "spoil"), _params())
def test_a_corrupt_input_is_one_clear_line(case: Case, spoil: Spoil, world: Path, tmp_path: Path) -> None:
    w = tmp_path / "w"
    shutil.copytree(world, w)
    target = w / case.target
    if not target.exists() and case.target.endswith("emkit.sqlite"):  # the judge cache: written on first use
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(w / "runs" / "emkit.sqlite", target)
    spoil(target)
    r = CliRunner().invoke(app, case.args(w))
    out = r.output.strip()
    assert r.exit_code != 0, out
    assert r.exception is None or isinstance(r.exception, SystemExit), (
        f"{type(r.exception).__name__}: {r.exception}")
    assert "Traceback" not in out
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out
    assert (case.names or Path(case.target).name) in lines[0], out
