"""Ollama model names: `[host/][namespace/]model[:tag]`, matched the way the real server matches them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ollama_contract_kit.openapi import load_document

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

#: The contract's `RequestModelName` pattern: the names a server accepts in requests.
_VALID_NAME = re.compile(load_document("ollama")["components"]["schemas"]["RequestModelName"]["pattern"])


@dataclass(frozen=True)
class ModelName:
    """A fully qualified model name."""

    host: str
    namespace: str
    model: str
    tag: str

    @property
    def key(self) -> str:
        """The case-insensitive identity used to match requests to installed models."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}".lower()

    def same_spelling(self, text: str) -> bool:
        """True when `text` names this model in the same letter case (routes that skip Ollama's case folding)."""
        other = parse_model_name(text)
        return other is not None and (other.host, other.namespace, other.model, other.tag) == (
            self.host,
            self.namespace,
            self.model,
            self.tag,
        )

    def display_shortest(self) -> str:
        """The name as `/api/ps` and `/api/tags` show it: default host and namespace left out, tag kept."""
        if self.host.lower() == DEFAULT_HOST:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"


def parse_model_name(text: str) -> ModelName | None:
    """Parse a model name, filling the defaults; None when the name is not valid."""
    if not _VALID_NAME.fullmatch(text):
        return None
    rest, tag = text, DEFAULT_TAG
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    parts = rest.split("/")
    if len(parts) == 1:
        return ModelName(DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0], tag)
    if len(parts) == 2:
        return ModelName(DEFAULT_HOST, parts[0], parts[1], tag)
    return ModelName(parts[0], parts[1], parts[2], tag)
