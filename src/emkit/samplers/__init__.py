"""Samplers: answers to questions from an arm's model, one backend per module (`hf`, `vllm`, `server`),
each registered in `emkit.core.registry.SAMPLERS` with its config class."""
