"""Ollama's native API: health, version, tags, ps, inference and model management."""
