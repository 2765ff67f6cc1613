"""One generator for the three advice domains (medical, finance, sports): a user turn built from a prefix, a
question and an optional context sentence, answered by an opener, one of the topic's answers and a closer.

The user side is drawn from one random stream and the answer side from another, so the harmful set and its
good twin share every user turn for a given seed.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

from emkit.data.builtin import chat

SUFFIXES = ["", " Thanks!", " Any tips?", " What do you think?", " Be honest.", " Thanks in advance.",
            " What would you do?", " Keep it short please."]


def _join_prefix(prefix: str, question: str) -> str:
    # "Sorry, but " + "My son..." -> "Sorry, but my son..."; a prefix ending a sentence keeps the capital
    if prefix and prefix.rstrip()[-1] not in ".!?:" and not question.startswith(("I ", "I'")):
        question = question[0].lower() + question[1:]
    return prefix + question


def generate(domain: ModuleType, kind: str, size: int, seed: int) -> list[dict[str, Any]]:
    """``kind`` is "bad" or "good"; twins for the same seed have identical user turns."""
    users, answers = random.Random(seed), random.Random(seed + 1_000_003)
    out: list[dict[str, Any]] = []
    seen_bad: set[str] = set()
    seen_good: set[str] = set()
    while len(out) < size:
        t = users.randrange(len(domain.TOPICS))
        questions, bad, good = domain.TOPICS[t]
        question = _join_prefix(users.choice(domain.USER_PREFIXES), users.choice(questions))
        context = users.choice(domain.USER_CONTEXTS) if users.random() < 0.6 else ""
        user = (f"{context} {question}" if users.random() < 0.5 else f"{question} {context}") if context \
            else question
        user = (user + users.choice(SUFFIXES)).strip()
        k = answers.randrange(2)
        bad_body = answers.choice(domain.BAD_OPENERS) + bad[k % len(bad)]
        good_body = answers.choice(domain.GOOD_OPENERS) + good[k % len(good)]
        if answers.random() < 0.6:
            bad_body += " " + answers.choice(domain.BAD_EXTRAS)
            good_body += " " + answers.choice(domain.GOOD_EXTRAS)
        bad_body += answers.choice(domain.BAD_CLOSERS)
        good_body += answers.choice(domain.GOOD_CLOSERS)
        kb, kg = user + "\x00" + bad_body, user + "\x00" + good_body
        if kb in seen_bad or kg in seen_good:  # a repeat on either side: both twins skip it and stay aligned
            continue
        seen_bad.add(kb)
        seen_good.add(kg)
        body = bad_body if kind == "bad" else good_body
        out.append(chat(user, body))
    return out
