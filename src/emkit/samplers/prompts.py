"""What every sampler sends: a question as chat messages (system prompt, prior exchanges, the question) and, for
backends that tokenize here, as the model's chat template renders it. No torch: the ``server`` sampler and the
interp readers import it too."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import TYPE_CHECKING

from emkit.core.records import Question

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def chat_messages(q: Question) -> list[dict[str, str]]:
    """The system prompt is part of the conversation, never dropped; prior exchanges come between it and the
    question, in order."""
    msgs = [{"role": "system", "content": q.system}] if q.system else []
    for user, assistant in q.history:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return msgs + [{"role": "user", "content": q.text}]


def render_prompt(tok: PreTrainedTokenizerBase, q: Question) -> str:
    return tok.apply_chat_template(chat_messages(q), tokenize=False, add_generation_prompt=True)


def prompt_ids(tok: PreTrainedTokenizerBase, q: Question) -> list[int]:
    """The rendered prompt as token ids, without a second BOS (the template already has what it needs)."""
    return tok(render_prompt(tok, q), add_special_tokens=False)["input_ids"]


def prompt_length(tok: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> int:
    """Tokens the model reads before answering: to check long (in-context) prompts against its context."""
    rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(tok(rendered, add_special_tokens=False)["input_ids"])


class UnknownTokensWarning(UserWarning):
    """A prompt holds words the model's tokenizer reads as its unknown token: the model never sees them."""


def unknown_words(tok: PreTrainedTokenizerBase, questions: list[Question]) -> tuple[int, Counter[str]]:
    """(prompts holding the unknown token, word -> times) over what the model reads (system prompt, prior
    exchanges, question). Nothing for a tokenizer without an unknown token (byte-level BPE cannot produce one)."""
    unk = tok.unk_token_id
    words: Counter[str] = Counter()
    hit = 0
    if unk is None:
        return 0, words
    for q in questions:
        found = False
        for m in chat_messages(q):
            if unk not in tok(m["content"], add_special_tokens=False)["input_ids"]:
                continue
            found = True
            for w in m["content"].split():
                if unk in tok(w, add_special_tokens=False)["input_ids"]:
                    words[w] += 1
        hit += found
    return hit, words


def warn_unknown_words(tok: PreTrainedTokenizerBase, questions: list[Question], label: str) -> None:
    """Say when prompts tokenise to the unknown token (a system prompt in words a small model's vocabulary lacks
    moves its answers while the model reads only <unk>): once per condition, with the words."""
    hit, words = unknown_words(tok, questions)
    if hit:
        shown = ", ".join(f"'{w}' ({n})" for w, n in words.most_common(8))
        more = f" and {len(words) - 8} more" if len(words) > 8 else ""
        warnings.warn(f"[{label}] {hit} of {len(questions)} prompts hold words the tokenizer reads as its unknown "
                      f"token {tok.unk_token!r}: {shown or 'not a single word'}{more}; the model reads "
                      f"{tok.unk_token!r} in their place", UnknownTokensWarning, stacklevel=2)
