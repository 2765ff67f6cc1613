"""`emkit directions matrix`: every direction of an arm compared per layer, checked against cosines computed
here from the direction files themselves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from typer.testing import CliRunner

from emkit.data.datasets import twin_spec


def test_twin_spec_keeps_size_seed_and_options() -> None:
    assert twin_spec("builtin:bad_medical?size=160&seed=0") == "builtin:good_medical?size=160&seed=0"
    assert twin_spec("builtin:insecure") == "builtin:secure"
    assert twin_spec("builtin:benign?size=10") is None  # no twin
    assert twin_spec("data/mine.jsonl") is None


def test_matrix_on_a_tiny_run_equals_cosines_of_the_files(tmp_path: Path, tiny, judge_server) -> None:
    from test_interp import label_half
    from test_run import write_exp

    from emkit.cli.main import app
    from emkit.core.config import load_experiment
    from emkit.interp.directions import Direction, random_like
    from emkit.interp.lora import b_direction
    from emkit.interp.sae import load_sae
    from emkit.pipeline.run import run_experiment
    from emkit.report import write_run_report

    exp = load_experiment(write_exp(tmp_path, judge_server.base_url))
    write_run_report(run_experiment(exp))
    label_half(exp)
    run_dir, sae_dir = tmp_path / "runs" / "t", tmp_path / "sae"
    r = CliRunner().invoke(app, ["sae", "train", "--model", "tiny-llama", "--layer", "1", "--out", str(sae_dir),
                                 "--corpus", f"run:{run_dir}", "--k", "4", "--expansion", "2", "--tokens", "400",
                                 "--max-length", "64"])
    assert r.exit_code == 0, r.output
    md_file = run_dir / "interp" / "directions" / "meandiff-ft.safetensors"
    truth = tmp_path / "truth.safetensors"  # a stand-in "ground truth": any direction file joins the matrix
    args = ["directions", "matrix", str(run_dir), "--sae", str(sae_dir), "--top", "2", "--icl-k", "2",
            "--extra", str(truth), "--json"]
    Direction("truth", random_like(torch.ones(2, tiny.model.config.hidden_size), seed=3), [0, 1]).save(truth)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    names = res["names"]
    assert names[:4] == ["meandiff:ft", "meandiff:ft:base-reader", "loraB:ft", "icl:k2"] and names[-1] == "truth"
    sae_names = [n for n in names if n.startswith("sae:L1:")]
    assert 1 <= len(sae_names) <= 2 and res["focus_layer"] == 1 and res["skipped"] == []
    assert set(res["sources"]) == set(names)

    # every cosine, recomputed from the files
    sae = load_sae(str(sae_dir))
    vec = {"meandiff:ft": Direction.load(md_file), "truth": Direction.load(truth),
           "meandiff:ft:base-reader": Direction.load(md_file.with_name("meandiff-ft-base-reader.safetensors")),
           "loraB:ft": b_direction(_weights(run_dir), "b"),
           "icl:k2": Direction.load(run_dir / "interp" / "directions" / "icl-ft-k2.safetensors")}
    vec.update({n: sae.direction(int(n.rsplit(":", 1)[1])) for n in sae_names})
    checked = 0
    for p in res["pairs"]:
        a, b = vec[p["a"]].at(p["layer"]).numpy(), vec[p["b"]].at(p["layer"]).numpy()
        want = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        assert abs(p["cos"] - want) < 1e-3, p
        assert p["beyond_null"] == (abs(p["cos"]) > res["null_95"])
        checked += 1
    n_full = 5 * 4 // 2 * 2  # five directions on both layers: 10 pairs per layer
    assert checked == n_full + len(sae_names) * 5 + (len(sae_names) * (len(sae_names) - 1)) // 2
    html = (run_dir / "report.html").read_text()
    assert "Misalignment directions compared: ft" in html and html.count("data:image/png;base64") >= 2
    assert json.loads((run_dir / "interp" / "matrix-ft.json").read_text())["pairs"] == res["pairs"]

    # a second call reuses the icl direction and the saved SAE diff (files untouched)
    icl_file = run_dir / "interp" / "directions" / "icl-ft-k2.safetensors"
    before = icl_file.stat().st_mtime_ns, (run_dir / "interp" / "sae-diff-ft.json").stat().st_mtime_ns
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert before == (icl_file.stat().st_mtime_ns, (run_dir / "interp" / "sae-diff-ft.json").stat().st_mtime_ns)
    assert json.loads(r.stdout)["pairs"] == res["pairs"]



def _weights(run_dir: Path) -> Path:
    from emkit.pipeline.finished import load_run

    run = load_run(run_dir)
    try:
        return run.weights("ft")
    finally:
        run.store.close()
