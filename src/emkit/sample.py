"""Sampling: batched generation with left padding, n samples per question, the model's chat template and the
question's system prompt. Answers are appended to JSONL as each batch finishes, so a killed run resumes.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emkit.config import EvalConfig
from emkit.progress import bar
from emkit.records import Answer, Question


def chat_messages(q: Question) -> list[dict[str, str]]:
    """The system prompt is part of the conversation, never dropped; prior exchanges come between it and the
    question, in order."""
    msgs = [{"role": "system", "content": q.system}] if q.system else []
    for user, assistant in q.history:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return msgs + [{"role": "user", "content": q.text}]


def render_prompt(tok: PreTrainedTokenizerBase, q: Question) -> str:
    return tok.apply_chat_template(chat_messages(q), tokenize=False, add_generation_prompt=True)


def prompt_length(tok: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> int:
    """Tokens the model reads before answering: to check long (in-context) prompts against its context."""
    rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tok(rendered, add_special_tokens=False)["input_ids"])


@torch.no_grad()
def generate(model: PreTrainedModel, tok: PreTrainedTokenizerBase, prompts: list[str], cfg: EvalConfig,
             seed: int) -> list[str]:
    """One batch: left-padded prompts in, decoded completions (special tokens stripped) out."""
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    torch.manual_seed(seed)
    do_sample = cfg.temperature > 0
    out = model.generate(**enc, max_new_tokens=cfg.max_new_tokens, do_sample=do_sample,
                         temperature=cfg.temperature if do_sample else None,
                         top_p=cfg.top_p if do_sample else None, top_k=0 if do_sample else None,
                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    return [t.strip() for t in tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)]


def read_answers(path: Path) -> list[Answer]:
    """Answers already on disk; a line cut short by a kill is dropped (it is regenerated)."""
    out = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").split("\n"):
            try:
                out.append(Answer(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue
    return out


def sample(model: PreTrainedModel, tok: PreTrainedTokenizerBase, questions: list[Question], cfg: EvalConfig,
           arm: str, out_path: str | Path) -> list[Answer]:
    """Sample ``cfg.samples_per_question`` answers per question into ``out_path`` (JSONL), resuming.

    Work is cut into fixed batches of (question, sample index) pairs, each seeded from (seed, batch
    number); a batch whose answers are all on disk is skipped, so a resumed run gives the same answers.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    have = {(a.question_id, a.sample_idx): a for a in read_answers(out_path)}
    pairs = [(q, i) for q in questions for i in range(cfg.samples_per_question)]
    batches = [pairs[i : i + cfg.batch_size] for i in range(0, len(pairs), cfg.batch_size)]
    todo = [(b, batch) for b, batch in enumerate(batches) if any((q.id, i) not in have for q, i in batch)]
    if todo and have:  # rewrite without a possibly truncated last line before appending
        with out_path.open("w", encoding="utf-8") as f:
            f.writelines(json.dumps(a.to_dict(), ensure_ascii=False) + "\n" for a in have.values())
    with bar(f"sample {arm}", len(pairs), completed=len(pairs) - sum(len(b) for _, b in todo)) as pbar, \
            out_path.open("a", encoding="utf-8") as f:
        for b, batch in todo:
            seed = cfg.seed * 1_000_003 + b
            texts = generate(model, tok, [render_prompt(tok, q) for q, _ in batch], cfg, seed)
            for (q, i), text in zip(batch, texts, strict=True):
                asked, system = q.original or (q.text, q.system)
                a = Answer(arm, q.id, i, asked, system, text, seed)
                have[(q.id, i)] = a
                f.write(json.dumps(a.to_dict(), ensure_ascii=False) + "\n")
            f.flush()
            pbar.advance(len(batch))
    return [have[(q.id, i)] for q, i in pairs]
