"""Load and unload one small model on a server, and leave the server as it was found."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ollama_contract_kit.client.models import keep_alive_until
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .target import Answer, ContractTarget

#: The keep-alive of the probe load: short, so an interrupted check frees the memory soon.
PROBE_KEEP_ALIVE_SECONDS = 30
#: Loading even the smallest model from a slow disk onto a CPU can take a while.
LOAD_TIMEOUT_SECONDS = 180.0
#: How many models a load is tried with before the checks give up (embedding models refuse it).
MAX_PROBE_ATTEMPTS = 4
#: Models with less time left than this are not reloaded after an eviction: they were about to go.
RESTORE_MIN_SECONDS_LEFT = 5.0
#: Names and families of embedding models on servers whose /api/tags predates `capabilities`.
_EMBEDDING_HINT = re.compile(r"embed|bert|minilm|bge-|e5-", re.IGNORECASE)


class LifecycleUnavailable(Exception):
    """The server has no model the lifecycle checks can load."""


@dataclass(frozen=True)
class ProbeModel:
    """The model the lifecycle checks loaded, what its load answered, and what was running before."""

    name: str
    size: int
    load_answer: Answer
    running_before: tuple[Mapping[str, Any], ...]

    @property
    def was_running(self) -> Mapping[str, Any] | None:
        """The probe model's own `/api/ps` entry before the checks, if it was running."""
        return entry_named(self.running_before, self.name)


def entry_named(entries: Iterable[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    """The `/api/ps` entry of `name` among `entries`, if there is one."""
    return next((entry for entry in entries if entry.get("name") == name), None)


def running(target: ContractTarget) -> list[dict[str, Any]]:
    """What `/api/ps` lists now (empty when it cannot be read)."""
    answer = target.request("GET", "/api/ps")
    data = answer.json_or_none() if answer.status == 200 else None
    models = data.get("models") if isinstance(data, dict) else None
    return [model for model in models if isinstance(model, dict)] if isinstance(models, list) else []


def listed(target: ContractTarget, name: str) -> Mapping[str, Any] | None:
    """The `/api/ps` entry of `name`, if listed."""
    return entry_named(running(target), name)


def _looks_like_embedding(model: Mapping[str, Any]) -> bool:
    details = model.get("details")
    details = details if isinstance(details, Mapping) else {}
    families = details.get("families")
    families = families if isinstance(families, list) else []
    words = [str(model.get("name", "")), str(details.get("family", "")), *map(str, families)]
    return any(_EMBEDDING_HINT.search(word) for word in words)


def probe_candidates(installed: Any, running_names: set[str]) -> list[Mapping[str, Any]]:
    """The `/api/tags` models a load may be tried with, most suitable first.

    Cloud and remote models are never tried (they are proxied, never scheduled), nor models whose
    `capabilities` lack completion. Servers too old to list capabilities get a guess: models that look
    like embedding models go last. Among the rest, models not running come first, then the smallest.
    """
    models = installed.get("models") if isinstance(installed, Mapping) else None
    candidates = [
        model
        for model in (models if isinstance(models, list) else [])
        if isinstance(model, Mapping)
        and isinstance(model.get("name"), str)
        and isinstance(model.get("size"), int)
        and "completion" in (model.get("capabilities") or ["completion"])
        and not model.get("remote_host")
        and not model.get("remote_model")
        and not re.search(r"[:-]cloud$", model["name"])
    ]
    return sorted(
        candidates,
        key=lambda model: (
            not model.get("capabilities") and _looks_like_embedding(model),
            model["name"] in running_names,
            model["size"],
        ),
    )


def load(target: ContractTarget, name: str, keep_alive: int) -> Answer:
    """Load `name` without a prompt (nothing is generated)."""
    return target.request(
        "POST", "/api/generate", {"model": name, "keep_alive": keep_alive}, timeout=LOAD_TIMEOUT_SECONDS
    )


def load_probe_model(target: ContractTarget) -> ProbeModel:
    """Load the most suitable installed model with the probe keep-alive; the next one if it cannot generate."""
    installed = target.request("GET", "/api/tags").json_or_none()
    running_before = tuple(running(target))
    candidates = probe_candidates(installed, {str(model.get("name")) for model in running_before})
    refused: list[str] = []
    for candidate in candidates[:MAX_PROBE_ATTEMPTS]:
        try:
            answer = load(target, candidate["name"], PROBE_KEEP_ALIVE_SECONDS)
        except KeyboardInterrupt:  # the load may have gone through: leave the server as found all the same
            restore(target, candidate["name"], running_before)
            raise
        guessed = not candidate.get("capabilities")  # a server that lists completion must load it
        if guessed and answer.status == 400 and b"does not support" in answer.body:
            refused.append(f"{candidate['name']} ({answer.excerpt(120)})")
            continue
        return ProbeModel(candidate["name"], candidate["size"], answer, running_before)
    if refused:
        raise LifecycleUnavailable(f"no installed model could be loaded with /api/generate: {'; '.join(refused)}")
    raise LifecycleUnavailable(
        "no installed model can be loaded with /api/generate (none, or only embedding/cloud models)"
    )


def _unexpired(entry: Mapping[str, Any], now: datetime) -> datetime | None:
    try:
        expires_at = parse_timestamp(str(entry.get("expires_at")))
    except ValueError:
        return None
    return expires_at if expires_at - now > timedelta(seconds=RESTORE_MIN_SECONDS_LEFT) else None


def missing_after(probe: ProbeModel, now: datetime, listed_names: set[str]) -> list[str]:
    """Models running before the checks, not expired since, that are no longer listed (e.g. evicted)."""
    return [
        str(entry.get("name"))
        for entry in probe.running_before
        if entry.get("name") not in listed_names and _unexpired(entry, now) is not None
    ]


def restore(target: ContractTarget, probe_name: str, running_before: tuple[Mapping[str, Any], ...]) -> None:
    """Leave the server as found: the probe unloaded unless it was running, evicted models running again.

    Models that were running get back the keep-alive that reproduces the expiry they had; one whose
    expiry has passed meanwhile is left unloaded, as the server itself would have done.
    """
    now = datetime.now(timezone.utc)
    was_running = entry_named(running_before, probe_name)
    probe_expiry = _unexpired(was_running, now) if was_running is not None else None
    if probe_expiry is None and listed(target, probe_name) is not None:
        target.request("POST", "/api/generate", {"model": probe_name, "keep_alive": 0})
    listed_names = {str(model.get("name")) for model in running(target)}
    for entry in running_before:
        expires_at = _unexpired(entry, now)
        changed_by_the_checks = entry.get("name") == probe_name
        if expires_at is not None and (changed_by_the_checks or entry.get("name") not in listed_names):
            load(target, str(entry["name"]), keep_alive_until(expires_at, now))
