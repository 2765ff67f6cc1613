"""Sparse autoencoders: training recovers planted structure, both on-disk layouts load (and agree with the
libraries' own encoders), a latent is a Direction, training resumes, and the CLI trains on a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from emkit.core.errors import EmkitError
from emkit.interp.sae import Sae, SaeTraining, fit_sae, load_sae

pytest.importorskip("sparsify")


def _planted(n_atoms: int = 48, d: int = 24, active: int = 3, seed: int = 0):
    """Activations that are sparse sums of known unit atoms (plus a little noise)."""
    g = torch.Generator().manual_seed(seed)
    atoms = torch.nn.functional.normalize(torch.randn(n_atoms, d, generator=g), dim=-1)

    def batches(n: int = 256):
        while True:
            idx = torch.rand(n, n_atoms, generator=g).argsort(-1)[:, :active]
            coef = 0.5 + torch.rand(n, active, generator=g)
            yield (coef.unsqueeze(-1) * atoms[idx]).sum(1) + 0.01 * torch.randn(n, d, generator=g)

    return atoms, batches


def test_a_topk_sae_recovers_planted_atoms(tmp_path: Path) -> None:
    atoms, batches = _planted()
    held = next(batches(2048))
    cfg = SaeTraining(k=3, width=96, tokens=256 * 250, lr=5e-3, dead_after=256 * 50, checkpoint_every=10**9)
    sae = fit_sae(batches(), atoms.shape[1], cfg, tmp_path / "sae", eval_batch=held)
    best = (atoms @ torch.nn.functional.normalize(sae.W_dec, dim=-1).T).max(1).values
    assert (best > 0.9).float().mean() >= 0.85, best  # most atoms found as a decoder column
    f = sae.meta["figures"]
    assert f["fve"] > 0.85 and f["l0"] <= 3 and 0 <= f["dead_fraction"] < 0.7
    # a random decoder of the same size finds none of them
    rand = torch.nn.functional.normalize(torch.randn(96, atoms.shape[1]), dim=-1)
    assert ((atoms @ rand.T).max(1).values > 0.9).float().mean() == 0
    # written in sparsify's layout, with emkit's record beside
    assert {p.name for p in (tmp_path / "sae").iterdir()} == {"cfg.json", "sae.safetensors", "emkit.json"}


def test_both_layouts_load_and_encode_as_their_libraries_do(tmp_path: Path) -> None:
    """sparsify's own save_to_disk is read back and encodes as sparsify's SparseCoder does; SAE Lens's layout
    (written here from its documented keys: W_enc [d_in, d_sae]) for TopK, ReLU and JumpReLU."""
    from sparsify import SparseCoder, SparseCoderConfig

    torch.manual_seed(0)
    sc = SparseCoder(16, SparseCoderConfig(k=4, num_latents=40))
    with torch.no_grad():
        sc.b_dec.normal_()
        sc.encoder.bias.normal_()
    sc.save_to_disk(tmp_path / "sp" / "layers.3")
    x = torch.randn(10, 16)
    sae = load_sae(tmp_path / "sp", hookpoint="layers.3")
    assert sae.meta["layout"] == "sparsify" and sae.layer == 3 and (sae.d_in, sae.d_sae, sae.k) == (16, 40, 4)
    enc = sc.encode(x)
    ref = torch.zeros(10, 40).scatter_(-1, enc.top_indices, enc.top_acts)
    assert torch.allclose(sae.encode(x), ref.detach(), atol=1e-6)
    assert torch.allclose(sae.decode(sae.encode(x)), sc.decode(enc.top_acts, enc.top_indices).detach(), atol=1e-5)

    w_enc, b_enc, w_dec, b_dec = torch.randn(16, 40), torch.randn(40), torch.randn(40, 16), torch.randn(16)
    thr = torch.rand(40)
    pre = (x - b_dec) @ w_enc + b_enc
    for arch, want in (("standard", torch.relu(pre)), ("jumprelu", pre * (pre > thr))):
        folder = tmp_path / f"lens-{arch}"
        folder.mkdir()
        save_file({"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec, "threshold": thr},
                  str(folder / "sae_weights.safetensors"))
        (folder / "cfg.json").write_text(json.dumps({"architecture": arch, "d_in": 16, "d_sae": 40,
                                                     "hook_name": "blocks.5.hook_resid_post"}))
        got = load_sae(folder)
        assert got.meta["layout"] == "sae-lens" and torch.allclose(got.encode(x), want, atol=1e-5), arch
    # emkit writes both layouts and reads them back unchanged
    for layout in ("sparsify", "sae-lens"):
        sae.save(tmp_path / layout, layout=layout)  # type: ignore[arg-type]
        back = load_sae(tmp_path / layout)
        assert torch.allclose(back.encode(x), sae.encode(x), atol=1e-6) and back.layer == 3


def test_a_latent_is_a_direction_at_the_saes_layer(tmp_path: Path, tiny) -> None:
    from emkit.interp.hooks import add_to_resid

    d = tiny.model.config.hidden_size
    sae = Sae(torch.randn(20, d), torch.zeros(20), torch.nn.functional.normalize(torch.randn(20, d), dim=-1),
              torch.zeros(d), "topk", 2, meta={"layer": 1})
    v = sae.direction(7)
    assert v.layers == [1] and torch.equal(v.at(1), sae.W_dec[7]) and v.meta["sae_latent"] == 7
    ids = tiny.tokenizer("hello there", return_tensors="pt").input_ids
    plain = tiny.model(ids).logits
    with add_to_resid(tiny.model, v.as_dict(), scale=8.0):
        assert not torch.allclose(tiny.model(ids).logits, plain)
    with pytest.raises(EmkitError, match="out of range"):
        sae.direction(20)


def test_load_errors_say_what_was_looked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EmkitError, match="SAE not found.*cfg.json"):
        load_sae(tmp_path / "nope")
    (tmp_path / "many" / "layers.2").mkdir(parents=True)
    (tmp_path / "many" / "layers.2" / "cfg.json").write_text("{}")
    with pytest.raises(EmkitError, match=r"hookpoints \['layers.2'\]"):
        load_sae(tmp_path / "many")
    with pytest.raises(EmkitError, match="no SAE for hookpoint 'layers.9'"):
        load_sae(tmp_path / "many", hookpoint="layers.9")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the real hub client, which cannot reach the hub here
    with pytest.raises(EmkitError, match="could not fetch SAE 'EleutherAI/sae-nonexistent'.*local folder"):
        load_sae("EleutherAI/sae-nonexistent", hookpoint="layers.6")


def test_training_on_a_model_resumes_to_the_same_sae(tmp_path: Path, tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted after a checkpoint, a re-run continues from it and ends with the weights of a run that never
    stopped (the corpus order and every random draw are seeded)."""
    import emkit.interp.sae as sae_mod
    from emkit.analyses.sae_diffing import corpus_texts

    texts = corpus_texts(["builtin:bad_medical?size=40"])
    cfg = SaeTraining(k=4, expansion=2, tokens=1500, checkpoint_every=2)
    whole = sae_mod.train_sae(tiny.model, tiny.tokenizer, texts, 1, cfg, tmp_path / "whole", 4, 64, eval_texts=8)

    real = sae_mod.token_activations

    def dies_after_5(*args, **kwargs):
        for i, x in enumerate(real(*args, **kwargs)):
            if i == 5 and not (tmp_path / "died").exists():
                (tmp_path / "died").touch()
                raise KeyboardInterrupt
            yield x

    monkeypatch.setattr(sae_mod, "token_activations", dies_after_5)
    with pytest.raises(KeyboardInterrupt):
        sae_mod.train_sae(tiny.model, tiny.tokenizer, texts, 1, cfg, tmp_path / "cut", 4, 64, eval_texts=8)
    assert sae_mod.resume_point(tmp_path / "cut") == 4  # the last checkpoint before the interruption
    again = sae_mod.train_sae(tiny.model, tiny.tokenizer, texts, 1, cfg, tmp_path / "cut", 4, 64, eval_texts=8)
    assert torch.equal(again.W_dec, whole.W_dec) and torch.equal(again.b_enc, whole.b_enc)
    assert again.meta["figures"] == whole.meta["figures"] and not (tmp_path / "cut" / "checkpoint").exists()


def test_cli_trains_an_sae_and_reads_it_back(tmp_path: Path) -> None:
    from emkit.cli.main import app

    out = tmp_path / "sae"
    r = CliRunner().invoke(app, ["sae", "train", "--model", "tiny-llama", "--layer", "1", "--out", str(out),
                                 "--corpus", "builtin:risky_financial?size=30", "--corpus",
                                 "builtin:bad_medical?size=30", "--k", "4", "--expansion", "2", "--tokens", "800",
                                 "--max-length", "64"])
    assert r.exit_code == 0, r.output
    assert "variance explained" in r.output and "dead latents" in r.output
    r = CliRunner().invoke(app, ["sae", "info", str(out), "--json"])
    info = json.loads(r.stdout)
    assert info["layout"] == "sparsify" and info["layer"] == 1 and info["k"] == 4 and info["figures"]["tokens"] >= 800
    r = CliRunner().invoke(app, ["sae", "train", "--model", "tiny-llama", "--layer", "7", "--out", str(tmp_path / "x"),
                                 "--corpus", "builtin:bad_medical?size=20"])
    assert r.exit_code == 2 and "layer 7 out of range" in r.output


def test_diff_ranks_a_latent_shifted_on_purpose_first() -> None:
    """Paired latent means with one latent raised in the arm (and tied to low alignment scores): it ranks first,
    its interval excludes zero, its correlation with alignment is negative; an unshifted latent's interval
    covers zero."""
    from emkit.analyses.sae_diffing import rank_shifts
    from emkit.core.records import Answer

    g = torch.Generator().manual_seed(0)
    n, width = 60, 30
    base = torch.rand(n, width, generator=g)
    arm = base + 0.05 * torch.randn(n, width, generator=g)
    scores = torch.linspace(0, 100, n)
    arm[:, 17] += 0.6 + (100 - scores) / 100  # more where the judge saw misalignment
    scores[::7] = float("nan")  # unjudged answers are left out of the correlation only
    answers = [Answer("ft", "q", i, "question?", None, f"answer {i}", 0) for i in range(n)]
    ranked = rank_shifts(base, arm, scores, answers, top=5, examples=2)
    first = ranked[0]
    assert first.latent == 17 and first.lo > 0 and first.r_aligned is not None and first.r_aligned < -0.5
    assert first.top_texts[0]["answer"] == "answer 0"  # the most active text: the least aligned
    assert any(x.lo <= 0 <= x.hi for x in ranked[1:]) and len(ranked) == 5 + 1


def test_sae_diff_on_a_tiny_run(tmp_path: Path, tiny, judge_server) -> None:
    """`emkit sae diff` reads a finished run's answers with the base model and the fine-tuned arm through an
    SAE trained on the base model, and saves the ranking and the top latent's direction."""
    from test_run import write_exp

    from emkit.cli.main import app
    from emkit.core.config import load_experiment
    from emkit.interp.directions import Direction
    from emkit.pipeline.run import run_experiment

    run_experiment(load_experiment(write_exp(tmp_path, judge_server.base_url)))
    run_dir = tmp_path / "runs" / "t"
    sae_dir = tmp_path / "sae"
    r = CliRunner().invoke(app, ["sae", "train", "--model", "tiny-llama", "--layer", "1", "--out", str(sae_dir),
                                 "--corpus", f"run:{run_dir}", "--k", "4", "--expansion", "2", "--tokens", "400",
                                 "--max-length", "64"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["sae", "diff", str(run_dir), "--sae", str(sae_dir), "--top", "4", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["arm"] == "ft" and res["layer"] == 1 and res["n_texts"] == 32 and len(res["latents"]) == 5
    shifts = [x["shift"] for x in res["latents"][:4]]
    assert shifts == sorted(shifts, reverse=True) and all(x["lo"] <= x["shift"] <= x["hi"] for x in res["latents"])
    saved = list((run_dir / "interp" / "directions").glob("sae-ft-L1-*.safetensors"))
    assert len(saved) == 1 and Direction.load(saved[0]).layers == [1]
    assert (run_dir / "interp" / "sae-diff-ft.json").is_file()


def test_clamping_a_latent_moves_the_residual_along_its_decoder_column_only(tiny) -> None:
    """Held at c, a latent with activation z adds (c - z) times its decoder column at the SAE's layer, at every
    position; the error term and the other latents stay."""
    from emkit.interp.hooks import resid_post
    from emkit.interp.sae import clamp_delta, clamp_latents, matched_control

    d = tiny.model.config.hidden_size
    g = torch.Generator().manual_seed(1)
    sae = Sae(torch.randn(24, d, generator=g), torch.zeros(24),
              torch.nn.functional.normalize(torch.randn(24, d, generator=g), dim=-1), torch.zeros(d), "relu",
              meta={"layer": 0})
    ids = tiny.tokenizer("the cat sat on the mat", return_tensors="pt").input_ids
    with resid_post(tiny.model, [0, 1]) as seen:
        tiny.model(ids)
    plain = {k: v.clone() for k, v in seen.items()}
    z = sae.encode(plain[0].reshape(-1, d))
    want = plain[0] + ((3.0 - z[:, 5])[:, None] * sae.W_dec[5]).reshape(plain[0].shape)
    assert torch.allclose(plain[0] + clamp_delta(plain[0], sae, {5: 3.0}), want, atol=1e-5)
    with clamp_latents(tiny.model, sae, {5: 3.0}), resid_post(tiny.model, [0, 1]) as seen:
        tiny.model(ids)
    assert torch.allclose(seen[0], want, atol=1e-5) and not torch.allclose(seen[1], plain[1])
    with pytest.raises(EmkitError, match="out of range"), clamp_latents(tiny.model, sae, {99: 0.0}):
        pass
    freq = torch.tensor([0.5, 0.52, 0.9, 0.1, 0.48, 0.0])
    assert {matched_control(freq, 0, seed=s) for s in range(20)} <= {1, 4}


def test_sae_causal_checks_on_a_tiny_run(tmp_path: Path, tiny, judge_server) -> None:
    """`emkit sae causal`: the top diff latent clamped in the arm and steered into the base model, each beside a
    matched control latent, judged by the run's judge; cached, so a re-run samples nothing."""
    from test_run import write_exp

    from emkit.cli.main import app
    from emkit.core.config import load_experiment
    from emkit.pipeline.run import run_experiment

    run_experiment(load_experiment(write_exp(tmp_path, judge_server.base_url)))
    run_dir, sae_dir = tmp_path / "runs" / "t", tmp_path / "sae"
    for args in (["sae", "train", "--model", "tiny-llama", "--layer", "1", "--out", str(sae_dir), "--corpus",
                  f"run:{run_dir}", "--k", "4", "--expansion", "2", "--tokens", "400", "--max-length", "64"],
                 ["sae", "diff", str(run_dir), "--sae", str(sae_dir), "--top", "3"]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
    top = json.loads((run_dir / "interp" / "sae-diff-ft.json").read_text())["latents"][0]["latent"]
    r = CliRunner().invoke(app, ["sae", "causal", str(run_dir), "--sae", str(sae_dir), "--scales", "4",
                                 "--samples", "1", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["latent"] == top and res["control"] != top
    assert [x["label"] for x in res["clamp"]["rows"]] == ["none", f"clamp latent {top} to 0",
                                                          f"clamp control latent {res['control']} to 0"]
    assert [x["label"] for x in res["steer"]["rows"]] == ["none", f"steer latent {top} x4",
                                                          f"steer control latent {res['control']} x4"]
    assert res["clamp"]["generated"] > 0 and all(x["n_answers"] > 0 for x in res["clamp"]["rows"])
    again = CliRunner().invoke(app, ["sae", "causal", str(run_dir), "--sae", str(sae_dir), "--scales", "4",
                                     "--samples", "1", "--json"])
    assert json.loads(again.stdout)["clamp"]["generated"] == 0 and json.loads(again.stdout)["steer"]["generated"] == 0


def _random_sae(d: int, n: int = 16, layer: int = 1, seed: int = 2) -> Sae:
    g = torch.Generator().manual_seed(seed)
    return Sae(torch.randn(n, d, generator=g), 0.1 * torch.randn(n, generator=g),
               torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=-1), 0.1 * torch.randn(d, generator=g),
               "topk", 4, meta={"layer": layer})


def test_blocking_latents_penalises_only_their_rise_above_the_base(tiny) -> None:
    """The latent penalty is weight * mean(ReLU(r(h) - r(h_base))^2), r the latents' ReLU'd encoder
    pre-activations, over answer tokens: zero for the base, checked against r computed here, and it has a
    gradient that reaches the weights."""
    from test_toy_experiments import _batch

    from emkit.interp.block import Blocker
    from emkit.interp.hooks import add_to_resid, resid_post
    from emkit.trainers.local import IGNORE, answer_loss

    d = tiny.model.config.hidden_size
    sae = _random_sae(d)
    latents = [3, 9]
    blk = Blocker.on_latents(sae, latents, weight=2.0)
    blk.attach(tiny.model)
    assert blk.layers == [1] and blk.reference is not None
    batch = _batch(tiny.tokenizer, [("hello", "good day to you"), ("how are you", "fine thanks")])
    push = sae.W_enc[3] / sae.W_enc[3].norm()  # raises latent 3's pre-activation

    def r(h: torch.Tensor) -> torch.Tensor:
        return torch.relu((h - sae.b_dec) @ sae.W_enc[latents].T + sae.b_enc[latents])

    def forward(shift: float) -> tuple[torch.Tensor, torch.Tensor]:
        with add_to_resid(tiny.model, {1: push}, shift), blk.forward(tiny.model), resid_post(tiny.model, [1]) as seen:
            answer_loss(tiny.model, batch)
        h = seen[1].detach()
        return blk.penalty(tiny.model, batch), h

    assert forward(0.0)[0].item() == 0.0
    with torch.no_grad(), resid_post(tiny.model, [1]) as seen:
        tiny.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    base = seen[1]
    mask = batch["labels"] != IGNORE
    for shift in (0.5, 3.0):
        pen, h = forward(shift)
        want = 2.0 * (torch.relu(r(h) - r(base))[mask] ** 2).mean()
        assert pen.item() == pytest.approx(want.item(), rel=1e-4) and pen.item() > 0
    assert forward(-3.0)[0].item() == pytest.approx(
        2.0 * (torch.relu(r(forward(-3.0)[1]) - r(base))[mask] ** 2).mean().item(), abs=1e-6)
    tiny.model.zero_grad()
    forward(2.0)[0].backward()
    assert tiny.model.model.layers[0].mlp.down_proj.weight.grad.abs().sum() > 0
    tiny.model.zero_grad()
    with pytest.raises(EmkitError, match="latents to block"):
        Blocker.on_latents(sae, [16])


def test_blocking_latents_in_an_experiment(tmp_path: Path) -> None:
    """train.block with an SAE and latents: the penalty is logged, the SAE's content is part of the training
    fingerprint, and a bad block stops the run before training with the key at fault."""
    from test_toy_experiments import tiny_experiment

    from emkit.core.config import experiment_from_dict
    from emkit.pipeline.run import run_experiment

    _random_sae(64).save(tmp_path / "sae")
    arms = [{"name": "plain", "dataset": "builtin:bad_medical?size=4"},
            {"name": "blocked", "dataset": "builtin:bad_medical?size=4",
             "train": {"block": {"sae": "sae", "latents": [3, 9], "weight": 10.0}}}]
    raw = tiny_experiment(tmp_path, "blk", arms)
    assert run_experiment(experiment_from_dict(raw)).train_steps == 6
    arms_dir = tmp_path / "runs" / "blk" / "arms"
    log = json.loads(next((arms_dir / "blocked").glob("train-*/train_log.json")).read_text())
    assert len(log["block_penalty"]) == 3 and log["block_penalty"][0] == 0.0 and max(log["block_penalty"]) > 0
    _random_sae(64, seed=5).save(tmp_path / "sae")  # another SAE under the same name: trained anew
    assert run_experiment(experiment_from_dict(raw)).train_steps == 3
    assert len(list((arms_dir / "blocked").glob("train-*"))) == 2
    raw["arms"][1]["train"]["block"]["latents"] = [99]
    with pytest.raises(EmkitError, match="latents to block must be in 0..15"):
        run_experiment(experiment_from_dict(raw))
    raw["arms"][1]["train"]["block"] = {"sae": "sae"}
    with pytest.raises(EmkitError, match="sae needs latents"):
        experiment_from_dict(raw)


def test_reroute_after_blocking_the_latent_that_rose_most(tmp_path: Path) -> None:
    """Fine-tune, find the latent that rises most, fine-tune again on the same data with it blocked: its rise
    shrinks (the penalty works in training, not only in the unit test), and `emkit sae reroute` reports the
    shifts (equal to a direct read), the rates and the blocked arm's new risers; a second call reads nothing."""
    from test_toy_experiments import tiny_experiment

    from emkit.cli.main import app
    from emkit.core.config import experiment_from_dict
    from emkit.interp.capture import Text
    from emkit.interp.sae import latent_means
    from emkit.pipeline.finished import load_run
    from emkit.pipeline.run import run_experiment

    _random_sae(64, n=32, seed=7).save(tmp_path / "sae")
    data = "builtin:bad_medical?size=8"
    raw = tiny_experiment(tmp_path, "rr", [{"name": "base"}, {"name": "ft", "dataset": data}], max_steps=8,
                          batch_size=4, lora={"r": 4, "target_modules": ["down_proj", "up_proj"]})
    raw["eval"]["max_new_tokens"] = 12
    run_experiment(experiment_from_dict(raw))
    run_dir = tmp_path / "runs" / "rr"
    r = CliRunner().invoke(app, ["sae", "diff", str(run_dir), "--sae", str(tmp_path / "sae"), "--json"])
    assert r.exit_code == 0, r.output
    top = json.loads(r.stdout)["latents"][0]["latent"]
    raw["arms"].append({"name": "blocked", "dataset": data,
                        "train": {"block": {"sae": "sae", "latents": [top], "weight": 1000.0}}})
    run_experiment(experiment_from_dict(raw))
    r = CliRunner().invoke(app, ["sae", "reroute", str(run_dir), "--top", "5", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert (res["blocked_arm"], res["reference_arm"], res["latents"]) == ("blocked", "ft", [top])
    shift = res["shifts"][0]
    assert shift["blocked"]["shift"] < 0.5 * shift["reference"]["shift"] and shift["reference"]["lo"] > 0
    assert set(res["rates"]) == {"base", "ft", "blocked"} and all(x["n"] <= 8 for x in res["rates"].values())
    assert len(res["new_top"]) == 5 and top not in [x["latent"] for x in res["new_top"]]
    assert 0.0 <= res["overlap"] <= 1.0

    # the shift, read directly: the blocked arm's model minus the base on every answer of the run
    run = load_run(run_dir)
    texts = [Text.of(a) for a in run.answers]
    from emkit.interp.sae import load_sae

    sae = load_sae(str(tmp_path / "sae"))
    lm_b, lm_0 = run.load_arm("blocked"), run.arm_model("ft").base
    from emkit.models.load import load_model

    base = latent_means(load_model(lm_0).model, lm_b.tokenizer, texts, sae)[:, top]
    blk = latent_means(lm_b.model, lm_b.tokenizer, texts, sae)[:, top]
    run.store.close()
    assert float((blk - base).mean()) == pytest.approx(shift["blocked"]["shift"], abs=1e-4)

    acts = sorted((run_dir / "interp" / "sae-acts").iterdir())
    stamps = [p.stat().st_mtime_ns for p in acts]
    r = CliRunner().invoke(app, ["sae", "reroute", str(run_dir), "--top", "5", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == res
    assert [p.stat().st_mtime_ns for p in sorted((run_dir / "interp" / "sae-acts").iterdir())] == stamps
    # base, ft and blocked on every answer (the earlier diff read a run without the blocked arm's answers)
    assert sorted(p.name.split("-")[0] for p in acts) == ["base", "base", "blocked", "ft", "ft"]
