"""What every sampler sends, for backends that tokenize here: a question's chat messages
(:meth:`emkit.core.records.Question.messages`) as the model's chat template renders them, and a warning when they
hold words the tokenizer does not know. No torch."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import TYPE_CHECKING

from emkit.core.records import Question

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def render_prompt(tok: PreTrainedTokenizerBase, q: Question) -> str:
    return tok.apply_chat_template(q.messages(), tokenize=False, add_generation_prompt=True)


def prompt_ids(tok: PreTrainedTokenizerBase, q: Question) -> list[int]:
    """The rendered prompt as token ids, without a second BOS (the template already has what it needs)."""
    return tok(render_prompt(tok, q), add_special_tokens=False)["input_ids"]


def prompt_length(tok: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> int:
    """Tokens the model reads before answering: to check long (in-context) prompts against its context."""
    rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tok(rendered, add_special_tokens=False)["input_ids"])


class UnknownTokensWarning(UserWarning):
    """A prompt holds words the model's tokenizer reads as its unknown token: the model never sees them."""


def unknown_words(tok: PreTrainedTokenizerBase, questions: list[Question],
                  ids: list[list[int]] | None = None) -> tuple[int, Counter[str]]:
    """(prompts holding the unknown token, word -> times) over what the model reads (system prompt, prior
    exchanges, question). ``ids``: the prompts' token ids where the caller has them already (only the prompts
    that hold the unknown token are split into words). Nothing for a tokenizer without an unknown token
    (byte-level BPE cannot produce one)."""
    unk = tok.unk_token_id
    words: Counter[str] = Counter()
    if unk is None:
        return 0, words
    ids = ids if ids is not None else [prompt_ids(tok, q) for q in questions]
    hit = [q for q, row in zip(questions, ids, strict=True) if unk in row]
    for q in hit:
        for m in q.messages():
            words.update(w for w in m["content"].split() if unk in tok(w, add_special_tokens=False)["input_ids"])
    return len(hit), words


def warn_unknown_words(tok: PreTrainedTokenizerBase, questions: list[Question], label: str,
                       ids: list[list[int]] | None = None) -> None:
    """Say when prompts tokenise to the unknown token (a system prompt in words a small model's vocabulary lacks
    moves its answers while the model reads only <unk>): once per condition, with the words."""
    hit, words = unknown_words(tok, questions, ids)
    if hit:
        shown = ", ".join(f"'{w}' ({n})" for w, n in words.most_common(8))
        more = f" and {len(words) - 8} more" if len(words) > 8 else ""
        warnings.warn(f"[{label}] {hit} of {len(questions)} prompts hold words the tokenizer reads as its unknown "
                      f"token {tok.unk_token!r}: {shown or 'not a single word'}{more}; the model reads "
                      f"{tok.unk_token!r} in their place", UnknownTokensWarning, stacklevel=2)
