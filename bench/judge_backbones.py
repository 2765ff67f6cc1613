"""Which backbone for the offline judge? Measured side by side in one run, on the same labelled rows.

- the shipped judge: all-MiniLM-L6-v2 as a cross-encoder with a LoRA adapter and a head, trained end to end;
- all-MiniLM-L6-v2 frozen, a linear probe on its mean-pooled (question, answer) features;
- SmolLM2-135M-Instruct frozen, a linear probe on the answer tokens' mean residual stream (a middle and the last
  layer), read in its chat template;
- and the cost of training each end to end: one LoRA step (batch 16, forward and backward) of MiniLM and of
  SmolLM2-135M, timed here, as a ratio, with the projected time for the judge's whole training run.

Figures are the misaligned decision on held-out rows of emkit's own calibration set (held-out core-question
ideas, the other held-out questions) and the evaluation-only EM-style answers: balanced accuracy, recall and
precision of "misaligned". Not a test: nothing here asserts.

    python bench/judge_backbones.py [--train-rows 800] [--layer 15]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("EMKIT_QUIET", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from emkit.data.builtin.calibration import BANDS  # noqa: E402
from emkit.judges.calibrate import LabelledRow, calibration_rows, em_style_rows  # noqa: E402
from emkit.judges.encoder import CrossEncoder  # noqa: E402
from emkit.judges.offline import OfflineJudge  # noqa: E402

CLASSES = list(BANDS)
MISALIGNED = [CLASSES.index("subtle"), CLASSES.index("blatant")]


@torch.no_grad()
def minilm_features(rows: list[LabelledRow]) -> np.ndarray:
    enc = CrossEncoder(len(CLASSES)).eval()
    return np.concatenate([enc.pooled([r.question for r in rows[i : i + 32]], [r.answer for r in rows[i : i + 32]])
                           .numpy() for i in range(0, len(rows), 32)])


@torch.no_grad()
def smollm_features(rows: list[LabelledRow], layers: list[int]) -> list[np.ndarray]:
    from emkit.core.config import ModelConfig
    from emkit.models.load import load_model

    lm = load_model(ModelConfig(name="smollm2-135m-instruct"))
    tok, model = lm.tokenizer, lm.model.eval()
    out: list[list[np.ndarray]] = [[] for _ in layers]
    for r in rows:  # one at a time: the answer's own tokens, no padding to mask
        prompt = tok.apply_chat_template([{"role": "user", "content": r.question}], tokenize=False,
                                         add_generation_prompt=True)
        ids = tok(prompt + r.answer, return_tensors="pt", truncation=True, max_length=256)["input_ids"]
        start = min(len(tok(prompt)["input_ids"]), ids.shape[1] - 1)
        hs = model(input_ids=ids, output_hidden_states=True).hidden_states
        for k, layer in enumerate(layers):
            out[k].append(hs[layer][0, start:].mean(0).numpy())
    return [np.stack(o) for o in out]


def probe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """A linear probe over the label bands (standardised features, L2, full-batch L-BFGS); P(misaligned)."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    xt, xe = (torch.tensor((x - mu) / sd, dtype=torch.float64) for x in (x_train, x_test))
    torch.manual_seed(0)
    head = torch.nn.Linear(xt.shape[1], len(CLASSES)).double()
    opt = torch.optim.LBFGS(head.parameters(), max_iter=300)
    y = torch.tensor(y_train)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(xt), y) + 1e-3 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return torch.softmax(head(xe), 1)[:, MISALIGNED].sum(1).numpy()


def figures(p_mis: np.ndarray, rows: list[LabelledRow]) -> str:
    keep = np.array([r.label in ("aligned", "misaligned") for r in rows])
    y = np.array([r.label == "misaligned" for r in rows])[keep]
    pred = p_mis[keep] > 0.5
    rec, spec = (pred & y).sum() / y.sum(), (~pred & ~y).sum() / (~y).sum()
    prec = (pred & y).sum() / max(1, pred.sum())
    return f"{(rec + spec) / 2:5.3f} {rec:5.3f} {prec:5.3f}"


def step_time(model: torch.nn.Module, batch: dict[str, torch.Tensor], reps: int = 3) -> float:
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        out = model(**batch)
        h = out.last_hidden_state if hasattr(out, "last_hidden_state") else out.logits
        h.float().pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))  # the first is a warm-up


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-rows", type=int, default=800, help="train rows for the frozen probes (all: about 2,600)")
    ap.add_argument("--layer", type=int, default=15, help="SmolLM2's middle layer to probe (the last is 30)")
    args = ap.parse_args()
    rows = calibration_rows()
    rng = np.random.default_rng(0)
    train = [r for r in rows if r.split == "train"]
    train = [train[i] for i in sorted(rng.permutation(len(train))[: args.train_rows])]
    test = [r for r in rows if r.split == "test"]
    sets = {"held-out core ideas": [r for r in test if r.condition == "core-ideas"],
            "other held-out rows": [r for r in test if r.condition != "core-ideas"],
            "em-style (eval only)": em_style_rows()}
    everything = train + [r for s in sets.values() for r in s]
    y = np.array([CLASSES.index(r.band) for r in train])
    print(f"{len(train)} train rows for the probes; held out: "
          + ", ".join(f"{k} {len(v)}" for k, v in sets.items()) + f"; {torch.get_num_threads()} threads\n")

    results: dict[str, dict[str, np.ndarray]] = {}
    judge = OfflineJudge()
    results["MiniLM + LoRA, end to end (shipped)"] = {
        k: np.array([p[MISALIGNED].sum() for p, _ in judge._predict([r.question for r in v], [r.answer for r in v])])
        for k, v in sets.items()}
    t0 = time.perf_counter()
    feats = minilm_features(everything)
    t_minilm = time.perf_counter() - t0
    t0 = time.perf_counter()
    mid, last = smollm_features(everything, [args.layer, 30])
    t_smol = time.perf_counter() - t0
    for name, f in (("MiniLM frozen, linear probe", feats), (f"SmolLM2-135M frozen L{args.layer}, linear probe", mid),
                    ("SmolLM2-135M frozen L30, linear probe", last)):
        ftr, rest = f[: len(train)], f[len(train):]
        out, i = {}, 0
        for k, v in sets.items():
            out[k] = probe(ftr, y, rest[i : i + len(v)])
            i += len(v)
        results[name] = out

    print(f"{'backbone':42s} " + " ".join(f"{k:>22s}" for k in sets))
    print(f"{'':42s} " + " ".join(f"{'bal   rec   prec':>22s}" for _ in sets))
    for name, out in results.items():
        print(f"{name:42s} " + " ".join(f"{figures(out[k], v):>22s}" for k, v in sets.items()))

    # the cost of end-to-end training: one LoRA step on the same batch of 16 answers
    from peft import LoraConfig, get_peft_model

    from emkit.core.config import ModelConfig
    from emkit.models.load import load_model

    b = train[:16]
    enc = CrossEncoder(len(CLASSES), lora=OfflineJudge.LORA)
    mb = dict(enc.tok([r.question for r in b], [r.answer for r in b], padding=True, truncation="only_second",
                      max_length=CrossEncoder.MAX_LENGTH, return_tensors="pt"))
    t_mini_step = step_time(enc.encoder.train(), mb)
    lm = load_model(ModelConfig(name="smollm2-135m-instruct"))
    smol = get_peft_model(lm.model, LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj",
                                                                                       "o_proj", "down_proj"]))
    texts = [lm.tokenizer.apply_chat_template([{"role": "user", "content": r.question},
                                               {"role": "assistant", "content": r.answer}], tokenize=False)
             for r in b]
    sb = dict(lm.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt"))
    t_smol_step = step_time(smol.base_model.model.model.train(), sb)  # the LoRA'd trunk; a head replaces lm_head
    steps = OfflineJudge.EPOCHS * -(-int(judge.info["train_rows"]) // 16)
    print(f"\nfeature extraction for {len(everything)} rows: MiniLM {t_minilm:.0f} s, SmolLM2-135M {t_smol:.0f} s "
          f"({t_smol / t_minilm:.1f}x)")
    print(f"one LoRA training step (batch 16): MiniLM {t_mini_step:.2f} s, SmolLM2-135M {t_smol_step:.2f} s "
          f"({t_smol_step / t_mini_step:.1f}x); the judge's {steps} steps would take "
          f"{steps * t_mini_step / 60:.0f} vs {steps * t_smol_step / 60:.0f} minutes")


if __name__ == "__main__":
    main()
