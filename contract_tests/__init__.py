"""Contract checks of Ollama's `/api/ps`: Schemathesis property tests, semantic checks and `ollama-contract verify`."""

from __future__ import annotations

__all__: list[str] = []
