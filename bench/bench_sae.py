"""SAE benchmark: TopK SAE training tokens/s as a share of this machine's fp32 matrix-product ceiling (measured in
this run), and the cost of reading a layer's activations (the SAE's input) against one full forward pass.

Everything is measured in this one run, side by side, on this machine. Not a test: nothing here asserts.

    python bench/bench_sae.py [--width 4608] [--k 32] [--steps 30] [--layer 10]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("EMKIT_QUIET", "1")

import torch  # noqa: E402
from ceiling import matmul_ceiling  # noqa: E402

from emkit.analyses.sae_diffing import corpus_texts  # noqa: E402
from emkit.core.config import ModelConfig  # noqa: E402
from emkit.interp.capture import encode, padded  # noqa: E402
from emkit.interp.sae import SaeTraining, fit_sae, token_activations  # noqa: E402
from emkit.models.load import load_model  # noqa: E402


def bench_training(d: int, width: int, k: int, steps: int, batch: int, ceiling: float) -> None:
    g = torch.Generator().manual_seed(0)
    data = [torch.randn(batch, d, generator=g) for _ in range(steps)]
    cfg = SaeTraining(k=k, width=width, tokens=steps * batch, checkpoint_every=10**9)
    with tempfile.TemporaryDirectory() as out:
        fit_sae(iter(data[:2]), d, SaeTraining(k=k, width=width, tokens=2 * batch, checkpoint_every=10**9), out)
        t0 = time.perf_counter()
        fit_sae(iter(data), d, cfg, out + "/timed")
        dt = time.perf_counter() - t0
    # dense work per token: the encoder forward (2·d·W) and its weight gradient (2·d·W); the TopK decoder and
    # its gradient touch only k columns
    flop = 4 * d * width + 4 * d * k
    rate = steps * batch / dt
    print(f"SAE training d={d} width={width} k={k}: {rate:,.0f} tokens/s = {rate * flop / 1e9:.1f} GFLOP/s "
          f"({100 * rate * flop / 1e9 / ceiling:.0f}% of this machine's fp32 matrix-product ceiling)")


def bench_capture(layer: int, texts_n: int) -> None:
    lm = load_model(ModelConfig(name="smollm2-135m-instruct"))
    model, tok = lm.model.eval(), lm.tokenizer
    texts = corpus_texts([f"builtin:bad_medical?size={texts_n}"])
    tokens = sum(len(encode(tok, t, 256)[0]) for t in texts)

    def full() -> None:
        for i in range(0, len(texts), 8):
            ids, mask, _ = padded(tok, texts[i : i + 8], 256)
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask)

    def read(at: int) -> None:
        for _ in token_activations(model, tok, texts, at, 8, 256):
            pass

    n_layers = model.config.num_hidden_layers
    times = {}
    for name, fn in (("full forward", full), (f"read layer {layer}", lambda: read(layer)),
                     (f"read layer {n_layers - 1} (last)", lambda: read(n_layers - 1))):
        fn()
        t0 = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - t0
    base = times["full forward"]
    for name, t in times.items():
        print(f"{name:>22}: {tokens / t:,.0f} tokens/s  ({t / base:.2f}x the full forward pass)")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--width", type=int, default=4608)
    p.add_argument("--k", type=int, default=32)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--layer", type=int, default=10)
    p.add_argument("--texts", type=int, default=64)
    a = p.parse_args()
    torch.manual_seed(0)
    ceiling = matmul_ceiling()
    print(f"fp32 matrix-product ceiling (1024^3, measured now): {ceiling:.0f} GFLOP/s")
    bench_training(576, a.width, a.k, a.steps, a.batch, ceiling)
    bench_capture(a.layer, a.texts)


if __name__ == "__main__":
    main()
