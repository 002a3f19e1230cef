"""The JSON shapes of Ollama's answers, keys in the real server's order."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ollama_contract_kit.openapi.timestamps import format_timestamp

from ..world.models import PS_DETAIL_FIELDS, InstalledModel, RunningModel


def ps_entry(running: RunningModel) -> dict[str, Any]:
    """One `/api/ps` item (Go's `ProcessModelResponse`)."""
    model = running.model
    name = model.display_name
    return {
        "name": name,
        "model": name,
        "size": running.size,
        "digest": model.digest,
        "details": {field: model.details.get(field, _blank(field)) for field in PS_DETAIL_FIELDS},
        "expires_at": format_timestamp(running.expires_at),
        "size_vram": running.size_vram,
        "context_length": running.context_length,
    }


def tags_entry(model: InstalledModel) -> dict[str, Any]:
    """One `/api/tags` item (Go's `ListModelResponse`)."""
    details = {field: model.details.get(field, _blank(field)) for field in PS_DETAIL_FIELDS}
    for optional in ("context_length", "embedding_length"):
        if model.details.get(optional):
            details[optional] = model.details[optional]
    entry: dict[str, Any] = {
        "name": model.display_name,
        "model": model.display_name,
        "modified_at": format_timestamp(model.modified_at),
        "size": model.size,
        "digest": model.digest,
        "details": details,
    }
    if model.capabilities:
        entry["capabilities"] = list(model.capabilities)
    return entry


def created_at(now: datetime) -> str:
    """`created_at` of generate/chat answers: always UTC (`time.Now().UTC()`)."""
    return format_timestamp(now.astimezone(timezone.utc))


def _blank(field: str) -> Any:
    return None if field == "families" else ""
