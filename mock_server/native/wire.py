"""The JSON shapes of Ollama's answers, keys in the real server's order."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from ollama_contract_kit.openapi.releases import Version, has
from ollama_contract_kit.openapi.timestamps import GoTime

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
        "details": _ps_details(model),
        "expires_at": running.expires_at.format(),
    }
    if running.size_vram or has(release, "ps_struct"):
        entry["size_vram"] = running.size_vram
    if has(release, "ps_context_length"):
        entry["context_length"] = running.context_length
    return entry


def _ps_details(model: InstalledModel) -> dict[str, Any]:
    """The details `/api/ps` shows: PsHandler never sets parent_model, so it is "" whatever the model came from."""
    return {
        field: "" if field == "parent_model" else model.details.get(field, _blank(field)) for field in PS_DETAIL_FIELDS
    }


def tags_entry(model: InstalledModel, release: Version | None = None) -> dict[str, Any]:
    """One `/api/tags` item (Go's `ListModelResponse`) as `release` sent it (None: the newest)."""
    details = {field: model.details.get(field, _blank(field)) for field in PS_DETAIL_FIELDS}
    for optional in ("context_length", "embedding_length"):
        if model.details.get(optional):
            details[optional] = model.details[optional]
    entry: dict[str, Any] = {
        "name": model.display_name,
        "model": model.display_name,
        "modified_at": model.modified_at.format(),
        "size": model.size,
        "digest": model.digest,
        "details": details,
    }
    if model.capabilities and has(release, "tags_capabilities"):
        entry["capabilities"] = list(model.capabilities)
    return entry


def created_at(moment: GoTime) -> str:
    """`created_at` of generate/chat answers: always UTC (`time.Now().UTC()`), to the nanosecond."""
    return moment.in_zone(timezone.utc).format()


def _blank(field: str) -> Any:
    return None if field == "families" else ""
