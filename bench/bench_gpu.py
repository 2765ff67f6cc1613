"""GPU benchmark on real model shapes: HF ``generate`` vs vLLM answers/s at many samples per question, and LoRA
training tokens/s with model-FLOP utilisation, side by side in one run. Weights are random (a Qwen2.5 config
built here: weights cannot be downloaded where this was written), which changes nothing about speed: every
answer is forced to its full length (``min_new_tokens`` / ``ignore_eos``) so both backends do the same work.

On a GPU (the goals: vLLM >= 10x HF answers/s at 100 samples per question; LoRA >= 40% MFU in bf16):

    python bench/bench_gpu.py --shape qwen2.5-0.5b      # and --shape qwen2.5-7b
    (vLLM part: in an environment with `pip install vllm`; without it the HF figures alone are printed)

On a CPU it runs a small version of the same thing (fp32, a few questions and samples): a check that the script
works, not the figure the goals are about. Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("EMKIT_QUIET", "1")
os.environ.setdefault("VLLM_WORKER_MULTIPROC_METHOD", "spawn")

import torch  # noqa: E402
from ceiling import matmul_ceiling  # noqa: E402
from transformers import AutoModelForCausalLM, Qwen2Config  # noqa: E402

#: the public configs' shapes (Qwen/Qwen2.5-0.5B-Instruct, Qwen/Qwen2.5-7B-Instruct)
SHAPES = {
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "qwen2.5-7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                       num_key_value_heads=4, vocab_size=152064, tie_word_embeddings=False),
}


def config(shape: str) -> Qwen2Config:
    return Qwen2Config(**SHAPES[shape], max_position_embeddings=32768, rope_theta=1e6, rms_norm_eps=1e-6,
                       architectures=["Qwen2ForCausalLM"], torch_dtype="bfloat16")


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def prompts(n: int, length: int, vocab: int) -> list[list[int]]:
    g = torch.Generator().manual_seed(0)
    return [torch.randint(100, vocab - 100, (length,), generator=g).tolist() for _ in range(n)]


def bench_hf(cfg: Qwen2Config, device: str, dtype: torch.dtype, qs: list[list[int]], samples: int, new: int,
             batch: int) -> float:
    """Answers/s of batched ``generate`` at temperature 1, every answer ``new`` tokens long."""
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype).eval()
    work = [q for q in qs for _ in range(samples)]
    sync(device)
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(work), batch):
            ids = torch.tensor(work[i : i + batch], device=device)  # equal lengths: no padding needed
            model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, temperature=1.0,
                           top_k=0, max_new_tokens=new, min_new_tokens=new, pad_token_id=0)
    sync(device)
    rate = len(work) / (time.perf_counter() - t0)
    del model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return rate


def bench_vllm(cfg: Qwen2Config, dtype: str, qs: list[list[int]], samples: int, new: int, cpu: bool) -> float | None:
    """Answers/s of vLLM on the same prompts (random weights: ``load_format=dummy``, no tokenizer)."""
    try:
        from vllm import LLM, SamplingParams

        from emkit.samplers.vllm import platform_args, shutdown
    except ImportError:
        return None
    folder = Path(tempfile.mkdtemp())
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    extra = {**platform_args(), **({"enforce_eager": True, "gpu_memory_utilization": 0.3} if cpu else {})}
    llm = LLM(model=str(folder), load_format="dummy", skip_tokenizer_init=True, dtype=dtype,
              max_model_len=max(len(q) for q in qs) + new + 8, seed=0, **extra)
    params = SamplingParams(n=samples, temperature=1.0, max_tokens=new, ignore_eos=True, detokenize=False)
    t0 = time.perf_counter()
    llm.generate([{"prompt_token_ids": q} for q in qs], params, use_tqdm=False)
    rate = len(qs) * samples / (time.perf_counter() - t0)
    shutdown(llm)
    return rate


def bench_lora(cfg: Qwen2Config, device: str, dtype: torch.dtype, seq: int, batch: int, steps: int,
               ceiling: float) -> None:
    """LoRA (r=8 on every linear layer) training tokens/s with gradient checkpointing as emkit trains on a GPU,
    and model-FLOP utilisation: 6 N FLOPs per token (the usual convention; LoRA skips the frozen weights'
    gradients, so about 4 N is computed) against the bf16 ceiling measured in this run."""
    from peft import LoraConfig, get_peft_model

    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    n = sum(p.numel() for p in model.parameters())
    if device == "cuda":
        model.config.use_cache = False
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(100, cfg.vocab_size - 100, (batch, seq), device=device)

    def step() -> None:
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()  # warm-up
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    tps = steps * batch * seq / (time.perf_counter() - t0)
    print(f"  LoRA r=8, all linear layers, {batch} x {seq} tokens per step: {tps:,.0f} tokens/s; "
          f"6N: {100 * 6 * n * tps / 1e12 / ceiling:.1f}% MFU, 4N: {100 * 4 * n * tps / 1e12 / ceiling:.1f}% "
          f"of the {ceiling:.1f} TFLOP/s ceiling")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=list(SHAPES), default="qwen2.5-0.5b")
    a = ap.parse_args()
    cuda = torch.cuda.is_available()
    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", torch.float32)
    cfg = config(a.shape)
    # on a GPU: the goals' setting; on a CPU: a small run of the same code
    n_q, samples, new, plen, batch = (8, 100, 128, 64, 256) if cuda else (2, 4, 16, 32, 8)
    seq, tbatch, steps = (1024, 8, 10) if cuda else (128, 2, 2)
    where = torch.cuda.get_device_name() if cuda else "CPU (a check of the script, not the GPU figure)"
    ceiling = matmul_ceiling(4096 if cuda else 1024, 10, device, dtype) / 1e3  # TFLOP/s
    print(f"{a.shape} (random weights), {str(dtype).removeprefix('torch.')} on {where}; {time.strftime('%Y-%m-%d')}")
    print(f"  matrix-product ceiling measured now: {ceiling:.1f} TFLOP/s")
    qs = prompts(n_q, plen, cfg.vocab_size)
    hf = bench_hf(cfg, device, dtype, qs, samples, new, batch)
    print(f"  sampling {n_q} prompts x {samples} samples x {new} tokens: hf generate (batch {batch}) {hf:.2f} answers/s")
    v = bench_vllm(cfg, "bfloat16" if cuda else "float32", qs, samples, new, cpu=not cuda)
    print(f"  vllm: {v:.2f} answers/s = {v / hf:.1f}x hf" if v else "  vllm: not installed here (pip install vllm)")
    bench_lora(cfg, device, dtype, seq, tbatch, steps, ceiling)


if __name__ == "__main__":
    main()
