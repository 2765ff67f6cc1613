"""Spine benchmark: demo wall time by stage; batched vs one-prompt-at-a-time sampling; per-pair seeded vs per-batch
seeded sampling; LoRA training tokens/s.

Everything is measured in this one run, side by side, on this machine. Not a test: nothing here asserts.

    python bench/bench_spine.py [--skip-demo] [--samples 2] [--max-new-tokens 48]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("EMKIT_QUIET", "1")

from emkit.core.config import EvalConfig, ModelConfig, TrainConfig, load_experiment  # noqa: E402
from emkit.data.datasets import build  # noqa: E402
from emkit.data.questions import CORE  # noqa: E402
from emkit.models.load import load_model  # noqa: E402
from emkit.pipeline.run import run_experiment  # noqa: E402
from emkit.report import write_run_report  # noqa: E402
from emkit.samplers.hf import generate, sample  # noqa: E402
from emkit.samplers.prompts import render_prompt  # noqa: E402
from emkit.trainers.local import LoraConfig, tokenize_example, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def bench_sampling(samples: int, max_new_tokens: int) -> None:
    lm = load_model(ModelConfig(name="smollm2-135m-instruct"))
    rates = {}
    for bs in (1, 16):
        cfg = EvalConfig(samples_per_question=samples, max_new_tokens=max_new_tokens, temperature=0.7, top_p=0.9,
                         batch_size=bs)
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            answers = sample(lm.model, lm.tokenizer, CORE, cfg, "bench", Path(d) / "a.jsonl")
            dt = time.perf_counter() - t0
        rates[bs] = len(answers) / dt
        print(f"sampling batch_size={bs:>2}: {len(answers)} answers in {dt:6.1f} s = {rates[bs]:.2f} answers/s")
    print(f"batched / one-at-a-time: {rates[16] / rates[1]:.1f}x  (goal >= 6x)")


def bench_seeding(samples: int, max_new_tokens: int, batch_size: int = 16) -> None:
    """The cost of answers that do not depend on batching: each row drawn with its own generator (the ``hf``
    sampler now) vs the whole batch from the global RNG seeded per batch (before), same prompts and batches."""
    lm = load_model(ModelConfig(name="smollm2-135m-instruct"))
    cfg = EvalConfig(max_new_tokens=max_new_tokens, temperature=0.7, top_p=0.9)
    prompts = [render_prompt(lm.tokenizer, q) for q in CORE for _ in range(samples)]
    batches = [list(range(i, min(i + batch_size, len(prompts)))) for i in range(0, len(prompts), batch_size)]
    seconds = {}
    for how in ("per-batch", "per-pair"):
        t0 = time.perf_counter()
        for b, rows in enumerate(batches):
            seed: int | list[int] = b if how == "per-batch" else rows
            generate(lm.model, lm.tokenizer, [prompts[k] for k in rows], cfg, seed)
        seconds[how] = time.perf_counter() - t0
        print(f"sampling seeded {how:>9}: {len(prompts)} answers in {seconds[how]:6.1f} s")
    print(f"per-pair / per-batch time: {seconds['per-pair'] / seconds['per-batch']:.2f}x")


def bench_training(steps: int = 6) -> None:
    lm = load_model(ModelConfig(name="smollm2-135m-instruct"))
    data = build("bad_medical", 8 * steps, seed=0)
    cfg = TrainConfig(max_steps=steps, batch_size=8, max_length=192, lr=1e-3, checkpoint_every=steps,
                      lora=LoraConfig(r=8, alpha=16, target_modules=["q_proj", "v_proj", "down_proj"]))
    tokens = sum(len(tokenize_example(lm.tokenizer, ex["messages"], cfg.max_length)[0]) for ex in data)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        train(lm.model, lm.tokenizer, data, cfg, d)
        dt = time.perf_counter() - t0
    print(f"LoRA training (demo settings): {tokens} tokens in {dt:.1f} s = {tokens / dt:.0f} tokens/s")


def bench_demo() -> None:
    with tempfile.TemporaryDirectory() as d:
        exp = load_experiment(ROOT / "examples" / "demo.yaml", [f"output_dir={d}"])
        t0 = time.perf_counter()
        res = run_experiment(exp)
        t1 = time.perf_counter()
        write_run_report(res)
        res.seconds["report"] = time.perf_counter() - t1
        total = time.perf_counter() - t0
    print(f"demo end to end: {total:.0f} s")
    for stage, s in res.seconds.items():
        print(f"  {stage:>15}: {s:6.1f} s  ({100 * s / total:4.1f}%)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=48)
    args = ap.parse_args()
    bench_sampling(args.samples, args.max_new_tokens)
    bench_seeding(args.samples, args.max_new_tokens)
    bench_training()
    if not args.skip_demo:
        bench_demo()


if __name__ == "__main__":
    main()
