"""The JSON shapes of Ollama's answers, keys in the real server's order."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ollama_contract_kit.openapi.releases import Version, has
from ollama_contract_kit.openapi.timestamps import format_timestamp

from ..world.models import PS_DETAIL_FIELDS, InstalledModel, RunningModel

#: What `modified_at` said in `/api/ps` before 0.1.42 (Go's zero time: ps reused the tags struct).
ZERO_TIME = "0001-01-01T00:00:00Z"


def ps_entry(running: RunningModel, release: Version | None = None) -> dict[str, Any]:
    """One `/api/ps` item (Go's `ProcessModelResponse`) as `release` sent it (None: the newest)."""
    model = running.model
    name = model.display_name
    entry: dict[str, Any] = {"name": name, "model": name}
    if not has(release, "ps_struct"):
        entry["modified_at"] = ZERO_TIME
    entry |= {
        "size": running.size,
        "digest": model.digest,
        "details": {field: model.details.get(field, _blank(field)) for field in PS_DETAIL_FIELDS},
        "expires_at": format_timestamp(running.expires_at),
    }
    if running.size_vram or has(release, "ps_struct"):
        entry["size_vram"] = running.size_vram
    if has(release, "ps_context_length"):
        entry["context_length"] = running.context_length
    return entry


def tags_entry(model: InstalledModel, release: Version | None = None) -> dict[str, Any]:
    """One `/api/tags` item (Go's `ListModelResponse`) as `release` sent it (None: the newest)."""
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
    if model.capabilities and has(release, "tags_capabilities"):
        entry["capabilities"] = list(model.capabilities)
    return entry


def created_at(now: datetime) -> str:
    """`created_at` of generate/chat answers: always UTC (`time.Now().UTC()`)."""
    return format_timestamp(now.astimezone(timezone.utc))


def _blank(field: str) -> Any:
    return None if field == "families" else ""
