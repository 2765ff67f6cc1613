"""Data: chat JSONL and Hugging Face datasets read and checked (`datasets`), the question sets
(`questions`) and the built-in datasets' content (`builtin/`)."""
