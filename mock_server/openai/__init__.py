"""The OpenAI-compatible layer under /v1: models, chat completions, completions and embeddings over the same world."""
