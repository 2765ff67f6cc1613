"""Phase curves and sweeps sample through ``eval.sampler`` where the backend can serve them (a checkpoint, a
scaled adapter), and through ``hf`` where hooks are needed, saying so; all three call sites share one protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from scripted_judge_server import ScriptedJudge

from emkit.analyses import interventions, phases
from emkit.analyses.interventions import sweep_sampler
from emkit.core.config import load_experiment
from emkit.interp.directions import Direction
from emkit.interp.steer import Intervention
from emkit.pipeline.finished import load_run
from emkit.pipeline.run import run_experiment
from emkit.samplers.base import sampled_by
from emkit.samplers.hf import HFSampler, HFSamplerConfig
from emkit.samplers.vllm import VllmSamplerConfig


def test_sweep_sampler_honours_eval_sampler_unless_hooks_are_needed(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EMKIT_QUIET", "0")
    vllm = VllmSamplerConfig()
    weights_only = [Intervention("none"), Intervention("lora_scale", scale=0.0)]
    assert sweep_sampler(vllm, weights_only, "ft") is vllm
    assert capsys.readouterr().out == ""
    steer = [Intervention("none"), Intervention("steer", (1,), 4.0), Intervention("ablate", (1,))]
    assert sweep_sampler(vllm, steer, "ft") == HFSamplerConfig()
    out = capsys.readouterr()
    said = " ".join((out.out + out.err).split())  # the console may wrap the line
    assert "[ft] ablation and steering need hooks: sampled with hf although eval.sampler is vllm" in said
    assert sweep_sampler(HFSamplerConfig(), steer, "ft") == HFSamplerConfig()
    # answers made by hf keep the fingerprints they had; another backend's are told apart
    assert sampled_by(HFSamplerConfig()) == () and sampled_by(vllm) == ({"sampled_by": vllm.identity()},)


class Recording:
    """SAMPLERS stand-in: records which configs were built and samples with hf (vLLM is not installed here)."""

    def __init__(self) -> None:
        self.built: list[str] = []

    def build(self, cfg: Any) -> HFSampler:
        self.built.append(cfg.backend)
        return HFSampler(HFSamplerConfig())


def test_phases_and_sweeps_build_the_configured_sampler(tmp_path: Path, judge_server: ScriptedJudge,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "exp.yaml"
    p.write_text(f"""
name: r
output_dir: runs
model: {{name: tiny-llama}}
arms:
  - name: ft
    dataset: builtin:bad_medical?size=8&seed=1
train: {{max_steps: 2, batch_size: 2, lr: 5.0e-2, checkpoint_every: 2, lora: {{r: 2, target_modules: [down_proj]}}}}
eval: {{questions: core, samples_per_question: 1, max_new_tokens: 4, batch_size: 8}}
judge: {{backend: api, base_url: "{judge_server.base_url}", model: m, backoff_s: 0.01}}
""")
    run_experiment(load_experiment(p))
    run = load_run(tmp_path / "runs" / "r")
    try:
        run.config["eval"]["sampler"] = {"backend": "vllm"}
        run.__dict__.pop("experiment", None)  # read again from the config, now naming vllm
        assert run.experiment.eval.sampler.backend == "vllm"
        rec = Recording()
        monkeypatch.setattr(phases, "SAMPLERS", rec)
        monkeypatch.setattr(interventions, "SAMPLERS", rec)
        curve = phases.phase_curve(run, "ft", samples_per_question=1)
        assert rec.built == ["vllm"] and curve.generated == 8 * len(curve.steps)
        again = phases.phase_curve(run, "ft", samples_per_question=1)
        assert again.generated == 0  # read back: nothing sampled twice
        d = Direction("d", torch.randn(2, 64), [0, 1])  # tiny-llama: 2 layers, d_model 64
        res = interventions.run_interventions(run, "ft", d, [Intervention("none"), Intervention("lora_scale", scale=0.0)], 1)
        assert rec.built[-1] == "vllm" and res.sampler == "vllm" and res.generated == 16
        res = interventions.run_interventions(run, "ft", d, [Intervention("none"), Intervention("steer", (1,), 2.0)], 1)
        assert rec.built[-1] == "hf" and res.sampler == "hf" and res.generated == 16
    finally:
        run.store.close()
