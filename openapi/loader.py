"""Find and read the OpenAPI documents shipped with the kit (from a checkout or a wheel alike)."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

#: The documents of the contract: Ollama's native API, its OpenAI-compatible layer, the mock's control API.
DOCUMENTS = {"ollama": "ollama.yaml", "openai": "openai.yaml", "control": "control.yaml"}


class _TextTimestampLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """A safe YAML loader that keeps timestamps as text, as JSON would carry them."""


_TextTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_yaml(text: str) -> Any:
    """Parse YAML (or JSON) text safely, keeping timestamps as strings."""
    return yaml.load(text, Loader=_TextTimestampLoader)  # noqa: S506 - a safe loader subclass


def spec_path(document: str = "ollama") -> Path:
    """Return the file path of one of the contract's documents (`ollama`, `openai` or `control`)."""
    try:
        file_name = DOCUMENTS[document]
    except KeyError:
        raise ValueError(f"unknown document {document!r}; choose one of {sorted(DOCUMENTS)}") from None
    return Path(str(resources.files(__package__).joinpath(file_name)))


@functools.cache
def load_document(document: str = "ollama") -> dict[str, Any]:
    """Return one contract document parsed into plain Python data (cached; do not mutate)."""
    parsed = parse_yaml(spec_path(document).read_text(encoding="utf-8"))
    if not isinstance(parsed, dict):
        raise ValueError(f"{spec_path(document)} is not an OpenAPI document")
    return parsed
