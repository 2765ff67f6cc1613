"""Activation capture: the residual stream after every decoder layer, from one forward pass per batch,
averaged over the answer tokens only (the prompt is masked), optionally streamed to disk as safetensors shards.

A text is a prompt (chat messages) and an answer. Its activation at a layer is the mean of that layer's output
over the answer's tokens; with an empty answer it is the last prompt token (the position that writes the first
answer token), which is what the training monitor reads before any answer exists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emkit.core.progress import bar
from emkit.core.records import Answer, Question
from emkit.interp.hooks import layer_indices, resid_post


@dataclass(frozen=True)
class Text:
    """What the model reads: a conversation up to the assistant turn, and the assistant's answer."""

    prompt: tuple[tuple[str, str], ...]  # (role, content) pairs, hashable
    answer: str

    @classmethod
    def asked(cls, q: Question, answer: str = "") -> Text:
        """The question as the model read it (system, prior exchanges, question), and an answer to it."""
        return cls(tuple((m["role"], m["content"]) for m in q.messages()), answer)

    @classmethod
    def of(cls, a: Answer) -> Text:
        """An answer with the question it records (the set's own wording: see Question.original)."""
        return cls.asked(Question(a.question_id, a.question, a.system), a.text)

    @classmethod
    def of_messages(cls, msgs: Sequence[dict[str, str]]) -> Text:
        """A chat example as read in training: everything before its last assistant turn, and that turn (a
        conversation with no assistant turn reads its last message as the answer)."""
        last = max((i for i, m in enumerate(msgs) if m["role"] == "assistant"), default=len(msgs) - 1)
        return cls(tuple((m["role"], m["content"]) for m in msgs[:last]), msgs[last]["content"])

    @property
    def messages(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.prompt]


def encode(tok: PreTrainedTokenizerBase, text: Text, max_length: int) -> tuple[list[int], list[bool]]:
    """Token ids of prompt + answer and a mask that is true on the answer's tokens only.

    The prompt is rendered with the chat template's generation prompt, exactly as when sampling, and the
    answer appended as text: so the tokens read here are the tokens the model wrote (up to re-tokenisation).
    """
    prompt = tok.apply_chat_template(text.messages, tokenize=False, add_generation_prompt=True)
    enc = tok(prompt + text.answer, add_special_tokens=False, return_offsets_mapping=True, truncation=True,
              max_length=max_length)
    ids = list(enc["input_ids"])
    mask = [start >= len(prompt) and end > start for start, end in enc["offset_mapping"]]
    if not any(mask):  # no answer (or cut off entirely): read the last token
        mask = [False] * (len(ids) - 1) + [True]
    return ids, mask


@torch.no_grad()
def padded(tok: PreTrainedTokenizerBase, texts: Sequence[Text], max_length: int
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of texts as the model reads them: token ids, attention mask and answer mask, ``[batch, seq]``.
    Right padding, so every position is where it would be unpadded."""
    enc = [encode(tok, t, max_length) for t in texts]
    width = max(len(ids) for ids, _ in enc)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    ids = torch.full((len(enc), width), pad, dtype=torch.long)
    attn = torch.zeros((len(enc), width), dtype=torch.long)
    answer = torch.zeros((len(enc), width), dtype=torch.bool)
    for i, (x, m) in enumerate(enc):
        ids[i, : len(x)] = torch.tensor(x)
        attn[i, : len(x)] = 1
        answer[i, : len(m)] = torch.tensor(m, dtype=torch.bool)
    return ids, attn, answer


def _batch_means(model: PreTrainedModel, tok: PreTrainedTokenizerBase, texts: Sequence[Text], layers: list[int],
                 max_length: int) -> torch.Tensor:
    ids, attn, answer = padded(tok, texts, max_length)
    device = next(model.parameters()).device
    with resid_post(model, layers) as seen:
        model(input_ids=ids.to(device), attention_mask=attn.to(device), use_cache=False)
    sel = answer.to(device, torch.float32)
    counts = sel.sum(1, keepdim=True)
    # [batch, layer, d]: mean over the selected positions of each layer's output
    return torch.stack([(seen[i].float() * sel.unsqueeze(-1)).sum(1) / counts for i in layers], 1).cpu()


def _shard_path(out: Path, k: int) -> Path:
    return out / f"acts-{k:05d}.safetensors"


def read_capture(out_dir: str | Path, n_texts: int) -> tuple[torch.Tensor, list[int]] | None:
    """A finished streamed capture of ``n_texts`` texts read back (activations, layers), or None if any shard
    is missing, so a caller can skip loading the model when everything is on disk."""
    out = Path(out_dir)
    if not (out / "meta.json").is_file():
        return None
    meta = json.loads((out / "meta.json").read_text())
    n_shards = -(-n_texts // meta["shard_rows"])
    paths = [_shard_path(out, k) for k in range(n_shards)]
    if meta["n"] != n_texts or not all(p.is_file() for p in paths):
        return None
    return torch.cat([load_file(p)["acts"] for p in paths]), meta["layers"]


def capture(model: PreTrainedModel, tok: PreTrainedTokenizerBase, texts: Sequence[Text],
            layers: Sequence[int] | None = None, batch_size: int = 8, max_length: int = 512,
            out_dir: str | Path | None = None, shard_rows: int = 256, desc: str = "capture") -> torch.Tensor:
    """Answer-token mean activations ``[n_texts, n_layers, d_model]`` (fp32, CPU), all layers from one pass.

    With ``out_dir``, rows are written as safetensors shards of ``shard_rows`` texts as they are computed and
    finished shards are read back instead of recomputed, so a large capture survives a kill. The folder must be
    specific to (model, texts, layers): callers name it by a fingerprint of those.
    """
    chosen = layer_indices(model, layers)
    was_training = model.training
    model.eval()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "meta.json").write_text(json.dumps({"layers": chosen, "n": len(texts), "shard_rows": shard_rows}))
    shards = [list(range(s, min(s + shard_rows, len(texts)))) for s in range(0, len(texts), shard_rows)]
    parts: list[torch.Tensor] = []
    with bar(desc, len(texts)) as pbar:
        for k, rows in enumerate(shards):
            path = _shard_path(out, k) if out is not None else None
            if path is not None and path.is_file():
                parts.append(load_file(path)["acts"])
                pbar.advance(len(rows))
                continue
            got = []
            for b in range(0, len(rows), batch_size):
                got.append(_batch_means(model, tok, [texts[i] for i in rows[b : b + batch_size]], chosen,
                                        max_length))
                pbar.advance(len(got[-1]))
            shard = torch.cat(got)
            if path is not None:
                tmp = path.with_suffix(".tmp")
                save_file({"acts": shard.contiguous()}, str(tmp))
                tmp.rename(path)
            parts.append(shard)
    model.train(was_training)
    if not parts:
        d = model.config.hidden_size
        return torch.zeros((0, len(chosen), d))
    return torch.cat(parts)
