"""Ollama model names: `[host/][namespace/]model[:tag]`, matched the way the real server matches them."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,79}$")
_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,349}(:[0-9]{1,5})?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,79}$")


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

    def display_shortest(self) -> str:
        """The name as `/api/ps` and `/api/tags` show it: default host and namespace left out, tag kept."""
        if self.host.lower() == DEFAULT_HOST:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"


def parse_model_name(text: str) -> ModelName | None:
    """Parse a model name, filling the defaults; None when the name is not valid."""
    rest, tag = text, DEFAULT_TAG
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            return None
    parts = rest.split("/")
    if len(parts) == 1:
        host, namespace, model = DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0]
    elif len(parts) == 2:
        host, (namespace, model) = DEFAULT_HOST, parts
    elif len(parts) == 3:
        host, namespace, model = parts
    else:
        return None
    if not (_HOST.match(host) and _PART.match(namespace) and _PART.match(model)):
        return None
    return ModelName(host=host, namespace=namespace, model=model, tag=tag)
