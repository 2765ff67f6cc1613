"""What every sampler sends: a question as chat messages (system prompt, prior exchanges, the question) and, for
backends that tokenize here, as the model's chat template renders it. No torch: the ``server`` sampler and the
interp readers import it too."""

from __future__ import annotations

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
