"""Load and unload one small model on a server, and leave it as it was found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ollama_contract_kit.client.models import keep_alive_until
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .target import ContractTarget

#: The keep-alive of the probe load: short, so an interrupted check frees the memory soon.
PROBE_KEEP_ALIVE_SECONDS = 30
#: Loading even the smallest model from a slow disk onto a CPU can take a while.
LOAD_TIMEOUT_SECONDS = 180.0


class LifecycleUnavailable(Exception):
    """The server has no model the lifecycle checks can load."""


@dataclass(frozen=True)
class ProbeModel:
    """The model the lifecycle checks load and unload, and how it was running before (if at all)."""

    name: str
    size: int
    was_running: dict[str, Any] | None


def running(target: ContractTarget) -> list[dict[str, Any]]:
    """What `/api/ps` lists now (empty when it cannot be read)."""
    answer = target.request("GET", "/api/ps")
    try:
        data = answer.json() if answer.status == 200 else None
    except ValueError:
        return []
    models = data.get("models") if isinstance(data, dict) else None
    return [model for model in models if isinstance(model, dict)] if isinstance(models, list) else []


def listed(target: ContractTarget, name: str) -> dict[str, Any] | None:
    """The `/api/ps` entry of `name`, if listed."""
    return next((model for model in running(target) if model.get("name") == name), None)


def pick_probe_model(target: ContractTarget) -> ProbeModel:
    """The smallest installed model that can be loaded by generate, preferring one not running."""
    answer = target.request("GET", "/api/tags")
    try:
        data = answer.json()
    except ValueError:
        data = None
    installed: list[Any] = data["models"] if isinstance(data, dict) and isinstance(data.get("models"), list) else []
    candidates = [
        model
        for model in installed
        if isinstance(model, dict)
        and isinstance(model.get("size"), int)
        and "completion" in (model.get("capabilities") or ["completion"])
        and not model.get("remote_host")
        and not str(model.get("name", "")).endswith(":cloud")
    ]
    if not candidates:
        raise LifecycleUnavailable(
            "no installed model can be loaded with /api/generate (none, or only embedding/cloud models)"
        )
    running_now = {model.get("name"): model for model in running(target)}
    chosen = min(candidates, key=lambda model: (model["name"] in running_now, model["size"]))
    return ProbeModel(name=chosen["name"], size=chosen["size"], was_running=running_now.get(chosen["name"]))


def restore(target: ContractTarget, probe: ProbeModel) -> None:
    """Leave the model as found: unloaded, or running again with the time it had left."""
    if probe.was_running is None:
        if listed(target, probe.name) is not None:
            target.request("POST", "/api/generate", {"model": probe.name, "keep_alive": 0})
        return
    now = datetime.now(timezone.utc)
    try:
        expires_at = parse_timestamp(str(probe.was_running["expires_at"]))
    except ValueError:
        expires_at = now
    keep_alive = keep_alive_until(expires_at, now)
    target.request(
        "POST", "/api/generate", {"model": probe.name, "keep_alive": keep_alive}, timeout=LOAD_TIMEOUT_SECONDS
    )
