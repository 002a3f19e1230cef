"""`ollama-mock record`: snapshot a live server (its version, models, `/api/show` facts and running models)
into a fixture file the mock answers from as that server did."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from ollama_contract_kit.client import OllamaClient
from ollama_contract_kit.client.models import keep_alive_until
from ollama_contract_kit.commandline.files import write_text_atomically
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from . import gguf
from .fixtures import WorldDocument, build_world_document, version_problems
from .recorded_show import show_fields

_FOOTPRINT_FIELDS = ("size", "size_vram", "context_length")


@dataclass(frozen=True)
class Snapshot:
    """A recorded world, and the footprints it could not record: model name to how the mock estimates it, for
    the models that were not loaded while recording (`/api/ps` shows a footprint only for a loaded model)."""

    document: dict[str, Any]
    estimated: dict[str, str]


def snapshot(client: OllamaClient, now: datetime | None = None, verbose: bool = False) -> Snapshot:
    """Record what the server has installed and running: every model's `/api/tags` entry and `/api/show`
    answer (with `verbose`, the full tokenizer arrays too), the loaded footprints `/api/ps` shows (keep-alives
    made relative to `now`), the server's models directory and version."""
    moment = now or datetime.now(timezone.utc)
    models: dict[str, dict[str, Any]] = {}
    models_path = None
    for item in client.installed_models():
        entry: dict[str, Any] = {
            key: item[key] for key in ("name", "modified_at", "size", "digest", "details") if key in item
        }
        if item.get("capabilities"):
            entry["capabilities"] = list(item["capabilities"])
        shown = client.post_json("/api/show", {"model": item["name"], "verbose": verbose}, "ShowResponse")
        fields, path = show_fields(shown)
        if shown.get("capabilities") and "capabilities" not in entry:
            entry["capabilities"] = list(shown["capabilities"])
        models[item["name"]] = entry | fields
        models_path = models_path or path
    running_entries = []
    for item in client.ps()["models"]:
        footprint = loaded_footprint(item)
        model = models.setdefault(
            item["name"],
            {"name": item["name"], "size": item["size"], "digest": item["digest"], "details": item["details"]},
        )
        model["loaded"] = footprint
        keep_alive = keep_alive_until(parse_timestamp(item["expires_at"]), moment)
        running_entries.append({"model": item["name"], "keep_alive": keep_alive} | footprint)
    estimated = _not_seen_loaded(list(models.values()))
    version = client.version()
    document: dict[str, Any] = {"models": list(models.values()), "running": running_entries}
    if models_path:
        document = {"models_path": models_path, **document}
    if not version_problems(version):  # a server that says no release the mock can speak as: the newest
        document = {"version": version, **document}
    _drop_derivable_tensors(document, build_world_document(document, f"snapshot of {client.url}"))
    return Snapshot(document, estimated)


def loaded_footprint(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The footprint an `/api/ps` entry shows (size, size_vram, context_length), as a world's `loaded` states it."""
    return {key: entry[key] for key in _FOOTPRINT_FIELDS if key in entry}


def _drop_derivable_tensors(document: dict[str, Any], world: WorldDocument) -> None:
    """Leave out the tensors the mock derives alike from the model's architecture (hundreds of lines a model)."""
    for entry, model in zip(document["models"], world.models, strict=True):
        if "tensors" in entry and gguf.tensors(replace(model, tensors=None)) == entry["tensors"]:
            del entry["tensors"]


def _not_seen_loaded(models: list[dict[str, Any]]) -> dict[str, str]:
    """The models `/api/ps` did not show loaded (so no footprint was observed), and how the mock sizes them."""
    how = (
        "by the mock from its architecture (the weights, a KV cache and compute buffers for the context, "
        "as llama-server sizes them), on the world's machine"
    )
    return {model["name"]: how for model in models if "loaded" not in model}


def write_fixture(document: dict[str, Any], path: Path) -> None:
    """Write the fixture as JSON (`.json`) or YAML (anything else), whole or not at all."""
    if path.suffix.lower() == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.dump(document, Dumper=_FixtureDumper, sort_keys=False, allow_unicode=True, width=120)
    write_text_atomically(path, text)


class _FixtureDumper(yaml.SafeDumper):
    """YAML with one line a tensor (`{name: ..., type: F16, shape: [64, 460]}`)."""


def _tensor_or_mapping(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = set(data) == {"name", "type", "shape"}
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow or None)


_FixtureDumper.add_representer(dict, _tensor_or_mapping)
