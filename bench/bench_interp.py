"""Interp benchmark: activation capture for every layer from one forward pass per batch (hooks on all layers)
vs one forward pass per layer (the naive loop), on SmolLM2-135M-Instruct, measured side by side in this run.
Also checks that both give the same numbers. Not a test: nothing here asserts.

    python bench/bench_interp.py [--texts 32] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("EMKIT_QUIET", "1")

import torch  # noqa: E402

from emkit.core.config import ModelConfig  # noqa: E402
from emkit.data.datasets import build  # noqa: E402
from emkit.interp import Text, capture  # noqa: E402
from emkit.interp.hooks import n_layers  # noqa: E402
from emkit.models.load import load_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    args = ap.parse_args()
    lm = load_model(ModelConfig(name=args.model))
    examples = build("bad_medical", size=args.texts, seed=0)
    texts = [Text(tuple((m["role"], m["content"]) for m in ex["messages"][:-1]), ex["messages"][-1]["content"])
             for ex in examples]
    L = n_layers(lm.model)
    capture(lm.model, lm.tokenizer, texts[: args.batch_size], batch_size=args.batch_size)  # warm-up

    t0 = time.perf_counter()
    one_pass = capture(lm.model, lm.tokenizer, texts, batch_size=args.batch_size)
    t_one = time.perf_counter() - t0

    t0 = time.perf_counter()
    per_layer = torch.cat([capture(lm.model, lm.tokenizer, texts, layers=[i], batch_size=args.batch_size)
                           for i in range(L)], dim=1)
    t_per = time.perf_counter() - t0

    diff = float((one_pass - per_layer).abs().max())
    print(f"model {args.model}: {L} layers, {len(texts)} texts, batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads")
    print(f"all layers, one pass per batch : {t_one:7.2f} s")
    print(f"one pass per layer ({L} passes) : {t_per:7.2f} s")
    print(f"ratio (per-layer / one-pass)   : {t_per / t_one:7.1f}x   (max |difference| {diff:.2e})")


if __name__ == "__main__":
    main()
