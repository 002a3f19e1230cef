"""`ollama-mock record`: snapshot a live server's `/api/tags` and `/api/ps` into a fixture file."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from ollama_contract_kit.client import OllamaClient
from ollama_contract_kit.client.models import keep_alive_until
from ollama_contract_kit.commandline.files import write_text_atomically
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .fixtures import build_world_document, version_problems

_FOOTPRINT_FIELDS = ("size", "size_vram", "context_length")


def snapshot(client: OllamaClient, now: datetime | None = None) -> dict[str, Any]:
    """A fixture document of what the server has installed and running, keep-alives made relative."""
    moment = now or datetime.now(timezone.utc)
    installed = client.installed_models()
    running = client.ps()["models"]
    models: dict[str, dict[str, Any]] = {}
    for item in installed:
        entry: dict[str, Any] = {
            key: item[key] for key in ("name", "modified_at", "size", "digest", "details") if key in item
        }
        if item.get("capabilities"):
            entry["capabilities"] = list(item["capabilities"])
        models[item["name"]] = entry
    running_entries = []
    for item in running:
        footprint = {key: item[key] for key in _FOOTPRINT_FIELDS if key in item}
        model = models.setdefault(
            item["name"],
            {"name": item["name"], "size": item["size"], "digest": item["digest"], "details": item["details"]},
        )
        model["loaded"] = footprint
        keep_alive = keep_alive_until(parse_timestamp(item["expires_at"]), moment)
        running_entries.append({"model": item["name"], "keep_alive": keep_alive} | footprint)
    version = client.version()
    document: dict[str, Any] = {"models": list(models.values()), "running": running_entries}
    if not version_problems(version):  # a server that says no release the mock can speak as: the newest
        document = {"version": version, **document}
    build_world_document(document, f"snapshot of {client.url}")
    return document


def write_fixture(document: dict[str, Any], path: Path) -> None:
    """Write the fixture as JSON (`.json`) or YAML (anything else), whole or not at all."""
    if path.suffix.lower() == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)
    write_text_atomically(path, text)
