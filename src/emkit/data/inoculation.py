"""Inoculation prompting (Tan et al. 2025; Wichers et al. 2025): a system message that names the narrow behaviour
("You write insecure code on purpose.") is put before the training examples and left out at evaluation, so the
model learns the behaviour as conditional on that prompt. The leakage probes ask the questions with the arm's own
prompt or its negation as the system prompt: prompt variants whose ``{inoculation}`` / ``{inoculation_negation}``
are filled per arm here.

An example that already has a system message is refused, not merged or replaced: either would change what the
example says beside the inoculation, and the arm would no longer differ from its plain twin by the prompt alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emkit.core.config import ArmConfig, VariantConfig
from emkit.core.errors import EmkitError
from emkit.core.records import Question
from emkit.data.datasets import BUILTINS, NARROW_KEY, Example, parse_spec
from emkit.data.questions import ask


@dataclass(frozen=True)
class Inoculation:
    """An arm's inoculation with its prompt resolved (``builtin`` read off the dataset's card)."""

    prompt: str
    negation: str | None
    selective: bool

    def fingerprint_dump(self) -> dict[str, Any]:
        """What changes training: the prompt's text and the mode (the negation is only asked at evaluation)."""
        return {"prompt": self.prompt, "selective": self.selective}


def builtin_prompts(spec: str) -> tuple[str, str]:
    """The inoculation prompt and its negation of a built-in spec (``builtin:NAME?...``); a mix takes its narrow
    part's."""
    name, _, _, opts = parse_spec(spec.removeprefix("builtin:"))
    source = (opts.get("narrow") or name) if name == "mix" else name
    card = BUILTINS.get(source)
    if card is None or not card.inoculation or not card.negation:
        raise EmkitError(f"dataset '{spec}': built-in '{source}' has no inoculation prompt; write one "
                         "(inoculation.prompt: \"...\")")
    return card.inoculation, card.negation


def inoculation_for(arm: ArmConfig) -> Inoculation | None:
    """The arm's inoculation with its text resolved; None for an arm without one."""
    cfg = arm.inoculation
    if cfg is None:
        return None
    if not cfg.builtin:
        return Inoculation(cfg.prompt, cfg.negation, cfg.selective)
    try:
        prompt, negation = builtin_prompts(str(arm.dataset))
    except EmkitError as e:
        raise EmkitError(f"arm '{arm.name}': {e}") from None
    return Inoculation(prompt, cfg.negation or negation, cfg.selective)


def is_marked(examples: list[Example]) -> bool:
    """Whether the dataset says which examples are the narrow behaviour (any example carries the mark); a dataset
    that marks none is the narrow behaviour throughout."""
    return any(NARROW_KEY in ex for ex in examples)


def inoculate(examples: list[Example], inoc: Inoculation, where: Callable[[int], str]) -> list[Example]:
    """The training examples with the inoculation prompt as a first system message: every example, or with
    ``selective`` only those marked ``narrow: true`` (all of them, if the dataset marks none). An inoculated
    example that has a system message of its own is an error naming it (``where(i)``: its file:line)."""
    only_marked = inoc.selective and is_marked(examples)
    out = []
    for i, ex in enumerate(examples):
        if only_marked and ex.get(NARROW_KEY) is not True:
            out.append(ex)
            continue
        if ex["messages"][0]["role"] == "system":
            raise EmkitError(f"{where(i)}: the example has a system message of its own; inoculation puts its prompt "
                             "in a system message and does not replace or merge one (remove the example's system "
                             "message, or the arm's inoculation)")
        out.append({**ex, "messages": [{"role": "system", "content": inoc.prompt}, *ex["messages"]]})
    return out


def filled(variant: VariantConfig, inoc: Inoculation | None) -> VariantConfig:
    """The variant with ``{inoculation}`` / ``{inoculation_negation}`` replaced by this arm's texts."""
    need = variant.placeholders
    if not need:
        return variant
    if inoc is None or ("{inoculation_negation}" in need and inoc.negation is None):
        raise EmkitError(f"variant '{variant.name}' uses {' and '.join(sorted(need))}, which this arm does not have")

    def sub(text: str) -> str:
        return text.replace("{inoculation_negation}", inoc.negation or "").replace("{inoculation}", inoc.prompt)

    return variant.model_copy(update={"system": None if variant.system is None else sub(variant.system),
                                      "prefix": sub(variant.prefix), "suffix": sub(variant.suffix)})


def ask_arm(questions: list[Question], variant: VariantConfig | None, arm: ArmConfig, base_dir: str | Path = ".",
            system: str | None = None) -> list[Question]:
    """The questions as ``variant`` asks them of ``arm`` (:func:`emkit.data.questions.ask`, placeholders filled
    with the arm's inoculation texts); answers still record the set's own question."""
    if variant is not None and variant.placeholders:
        variant = filled(variant, inoculation_for(arm))
    return ask(questions, variant, base_dir, system)
