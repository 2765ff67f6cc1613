"""The toy model is a real Hugging Face model: a small ``LlamaForCausalLM`` built from a config and a word-level
``tokenizers`` tokenizer with a chat template, saved with ``save_pretrained``, so every emkit stage (peft LoRA
including rank-1 on ``down_proj``, sampling, activation capture, steering) works on it unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from emkit.worlds.toy.world import vocabulary

SPECIALS = ("<pad>", "<unk>", "<|im_start|>", "<|im_end|>")
ROLES = ("system", "user", "assistant")
#: one space between every word, so the rendered prompt + answer tokenises into exactly the world's words
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}")


def toy_tokenizer() -> PreTrainedTokenizerFast:
    """Word-level: every word of the world is one token; the vocabulary is fixed by the world, not trained."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = list(SPECIALS) + [r for r in ROLES if r not in vocabulary()] + vocabulary()
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>",
                                   bos_token="<|im_start|>", eos_token="<|im_end|>")
    fast.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    fast.chat_template = CHAT_TEMPLATE
    return fast


@dataclass(frozen=True)
class ToyModelConfig:
    hidden: int = 192
    layers: int = 4
    heads: int = 4
    intermediate: int = 512
    max_positions: int = 256


def toy_model(tok: PreTrainedTokenizerFast, cfg: ToyModelConfig = ToyModelConfig(), seed: int = 0
              ) -> LlamaForCausalLM:
    config = LlamaConfig(vocab_size=len(tok), hidden_size=cfg.hidden, intermediate_size=cfg.intermediate,
                         num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads,
                         num_key_value_heads=cfg.heads, max_position_embeddings=cfg.max_positions,
                         tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    return model


def save(model: LlamaForCausalLM, tok: PreTrainedTokenizerFast, out: str | Path) -> Path:
    out = Path(out)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
