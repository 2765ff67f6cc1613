"""How fast the local judges score answers on 2 CPU cores, measured side by side in one run on the same answers:

- the offline judge (minilm-lora-v8) as it scores now: the LoRA adapter merged into the encoder, pairs batched by
  length, the off-topic relevance pass embedding each distinct question once and only each answer's first 32
  tokens;
- the same classifier's inference as v7 scored (the adapter applied unmerged, pairs batched in the order given,
  relevance embedding question and whole answer of every pair in its own pass): the baseline the ratio is against;
- a fully fine-tuned cross-encoder, one pass and no relevance: v5's recipe (minilm-ft-v5) and what ``emkit judge
  distill`` trains (its weights are untrained here: the time of a forward pass does not depend on them).

Each is timed on the same answers (emkit's calibration rows and the EM-style evaluation rows, shuffled so that
lengths mix as in a real file; the model loads are outside the timing), with the share of this machine's fp32
matrix-product ceiling its encoder passes reach (2 x 10.6 M multiply-adds per token of the padded batches, the
attention's own products left out). The old and new inference of the shipped judge are compared answer by answer
(top class, scores). Not a test: nothing here asserts.

    python bench/bench_judges.py [--answers 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("EMKIT_QUIET", "1")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from ceiling import matmul_ceiling  # noqa: E402

from emkit.judges.calibrate import calibration_rows, em_style_rows  # noqa: E402
from emkit.judges.encoder import CrossEncoder  # noqa: E402
from emkit.judges.offline import OfflineJudge, band_median  # noqa: E402

MACS_PER_TOKEN = 6 * (4 * 384 * 384 + 2 * 384 * 1536)  # MiniLM-L6: 6 layers, hidden 384, feed-forward 1536


class Tokens:
    """Counts the padded tokens an encoder is run on (its work), by wrapping its forward."""

    def __init__(self, *encoders: torch.nn.Module) -> None:
        self.n = 0
        for enc in encoders:
            enc.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, module: torch.nn.Module, args: tuple, kwargs: dict) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.n += int(ids.numel())


@torch.no_grad()
def old_inference(model: CrossEncoder, judge: OfflineJudge, qs: list[str], ans: list[str]) -> list[np.ndarray]:
    """The shipped judge's inference before: batches of 32 in the given order, the adapter unmerged, then the
    relevance pass with the adapter off, question and answer of each pair embedded in their own batches."""
    out = []
    for i in range(0, len(ans), 32):
        out += list(torch.softmax(model(qs[i : i + 32], ans[i : i + 32]).double(), dim=1).numpy())

    def embed(texts: list[str]) -> torch.Tensor:
        enc = model.tok(texts, padding=True, truncation=True, max_length=model.MAX_LENGTH, return_tensors="pt")
        h = model.encoder(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1), dim=-1)

    with model.encoder.disable_adapter():
        sims = np.concatenate([(embed(qs[i : i + 32]) * embed(ans[i : i + 32])).sum(-1).double().numpy()
                               for i in range(0, len(ans), 32)])
    return [np.append(p, s) for p, s in zip(out, sims, strict=True)]


@torch.no_grad()
def full_ft(model: CrossEncoder, qs: list[str], ans: list[str]) -> None:
    for idx in model.length_batches(qs, ans, 32):
        model([qs[i] for i in idx], [ans[i] for i in idx])


def timed(name: str, fn, n: int, tokens: Tokens, ceiling: float) -> float:
    tokens.n = 0
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    share = 2 * MACS_PER_TOKEN * tokens.n / dt / 1e9 / ceiling
    print(f"{name:<58} {n / dt:7.1f} answers/s  {dt:6.1f} s  {tokens.n:8d} tokens  {100 * share:4.1f}% of the ceiling",
          flush=True)
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=1000)
    ap.add_argument("--long", action="store_true", help="answers of real EM models' length: each answer three "
                                                         "rows' answers in a row (about 150-190 tokens a pair)")
    args = ap.parse_args()
    rows = calibration_rows() + em_style_rows()
    random.Random(0).shuffle(rows)
    rows = rows[: args.answers + 2]
    qs = [r.question for r in rows[: args.answers]]
    ans = [r.answer if not args.long else "\n\n".join(x.answer for x in rows[i : i + 3])
           for i, r in enumerate(rows[: args.answers])]
    n = len(qs)
    lengths = [len(x) for x in CrossEncoder.tokenizer()(qs, ans, truncation="only_second",
                                                          max_length=CrossEncoder.MAX_LENGTH)["input_ids"]]
    print(f"{n} answers ({len(set(qs))} distinct questions; a pair {np.mean(lengths):.0f} tokens on average, "
          f"{np.median(lengths):.0f} median, cut at {CrossEncoder.MAX_LENGTH}), torch threads "
          f"{torch.get_num_threads()}; model loads are not timed")
    ceiling = matmul_ceiling()
    print(f"fp32 matrix-product ceiling here: {ceiling:.0f} GFLOP/s")

    judge = OfflineJudge()  # merged, as it scores now
    old = CrossEncoder(len(judge.classes), lora=OfflineJudge.LORA).eval()
    from safetensors.torch import load_file

    from emkit.judges.offline import WEIGHTS_DIR
    old.load_trained(load_file(WEIGHTS_DIR / f"{OfflineJudge.VERSION}.safetensors"), "shipped weights")
    ft = CrossEncoder(len(judge.classes)).eval()
    tokens = Tokens(judge.model.encoder, judge.model.shipped, old.encoder, ft.encoder)

    got: dict[str, list] = {}
    r_old = timed("offline judge, v7's inference (baseline)",
                  lambda: got.__setitem__("old", old_inference(old, judge, qs, ans)), n, tokens, ceiling)
    r_new = timed("offline judge v8, as it scores now",
                  lambda: got.__setitem__("new", judge._predict(qs, ans)), n, tokens, ceiling)
    r_ft = timed("full fine-tune, one pass (v5's recipe; a distilled judge)", lambda: full_ft(ft, qs, ans), n,
                 tokens, ceiling)
    print(f"ratios: now / before {r_new / r_old:.2f}x; full fine-tune / now {r_ft / r_new:.2f}x")
    same = diff = 0
    for o, (p, (a, _c)) in zip(got["old"], got["new"], strict=True):
        same += int(o[:-1].argmax() == p.argmax())
        diff = max(diff, abs(band_median(o[:-1], judge.ranges[:, 0]) - a))
    print(f"old and new inference agree on the top class of {same} of {n} answers; the largest alignment-score "
          f"difference is {diff:.2g} points (relevance and off-topic coherence aside)")


if __name__ == "__main__":
    main()
