"""What a schema cannot say: the `/api/ps` rules every real Ollama server keeps, and which statuses a route has."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from ollama_contract_kit.openapi.releases import CHANGES, DEVELOPMENT_BUILD, Version, has, route_change
from ollama_contract_kit.openapi.timestamps import parse_timestamp

#: Optional fields of a running model that Ollama sends on every model from a release on.
ALWAYS_SENT: dict[str, str] = {"size_vram": "ps_struct", "context_length": "ps_context_length"}
#: How long past its expiry a model may stay listed while the runner stops.
DEFAULT_EXPIRY_GRACE_SECONDS = 60.0


@functools.lru_cache(maxsize=16)
def server_time(date_header: str | None) -> datetime | None:
    """The server's clock from its `Date` header (whole seconds), if it sent a usable one."""
    if not date_header:
        return None
    try:
        return parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None


def _label(index: int, model: Mapping[str, Any]) -> str:
    return f"models[{index}] {model.get('name')!r}"


def _expiry(model: Mapping[str, Any]) -> datetime | None:
    try:
        return parse_timestamp(str(model.get("expires_at")))
    except ValueError:
        return None


def ps_problems(
    body: Any,
    now: datetime | None = None,
    grace_seconds: float = DEFAULT_EXPIRY_GRACE_SECONDS,
    version: Version | None = None,
) -> list[str]:
    """Every broken rule of an `/api/ps` body (schema-valid or not), each naming model, field and values.

    `version` is the server's (from /api/version): fields that release always sends are required, and
    the order rule applies from the release that sorts (`releases.CHANGES`). An unknown version is held
    to the order rule only.
    """
    ordered = has(version, "ps_sorted")
    always_sent = [name for name, change in ALWAYS_SENT.items() if version is not None and has(version, change)]
    models = body.get("models") if isinstance(body, Mapping) else None
    if not isinstance(models, list):
        return []
    problems: list[str] = []
    seen: dict[str, int] = {}
    entries = [model for model in models if isinstance(model, Mapping)]
    for index, model in enumerate(entries):
        label = _label(index, model)
        for name in always_sent:
            if name not in model:
                since = ".".join(map(str, CHANGES[ALWAYS_SENT[name]].since))
                problems.append(f"{label}: no {name}; Ollama sends it on every model since {since}")
        if model.get("name") != model.get("model"):
            problems.append(f"{label}: name {model.get('name')!r} differs from model {model.get('model')!r}")
        size, size_vram = model.get("size"), model.get("size_vram")
        if isinstance(size, int) and not isinstance(size, bool) and size <= 0:
            # Every loaded runner has a footprint (llama.MemorySize, else the model file's size).
            problems.append(f"{label}: size {size} is a placeholder: a loaded model always takes memory")
        if isinstance(size, int) and isinstance(size_vram, int) and size_vram > size:
            problems.append(f"{label}: size_vram {size_vram} is more than size {size}")
        name = str(model.get("name"))
        if name in seen:
            problems.append(f"{label}: listed twice (also models[{seen[name]}])")
        seen.setdefault(name, index)
        expiry = _expiry(model)
        if now is not None and expiry is not None and expiry < now - timedelta(seconds=grace_seconds):
            late = (now - expiry).total_seconds()
            problems.append(
                f"{label}: expires_at {model.get('expires_at')} is {late:.0f} s before the server's time "
                f"{now.isoformat()}; an expired model leaves /api/ps within {grace_seconds:g} s "
                "(a model busy with a long request keeps its old expires_at: check again when it is idle)"
            )
    for index in range(len(entries) - 1 if ordered else 0):
        first, second = _expiry(entries[index]), _expiry(entries[index + 1])
        if first is not None and second is not None and int(first.timestamp()) < int(second.timestamp()):
            problems.append(
                f"{_label(index, entries[index])} (expires_at {entries[index].get('expires_at')}) is listed before "
                f"{_label(index + 1, entries[index + 1])} (expires_at {entries[index + 1].get('expires_at')}): "
                "/api/ps lists the latest expiry first"
            )
    return problems


def content_type_problem(status: int, content_type: str | None, body: bytes = b"{") -> str | None:
    """The content type Ollama gives: JSON (UTF-8) for JSON bodies, text/plain for the router's 404/405 pages."""
    media, _, parameters = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = parameters.strip().lower().removeprefix("charset=") if "charset=" in parameters.lower() else None
    router_page = status == 405 or (status == 404 and not body.lstrip().startswith((b"{", b"[")))
    if router_page:
        if media != "text/plain":
            return f"HTTP {status} should be text/plain (gin's '{status} ...' page), got {content_type!r}"
        return None
    if media != "application/json":
        return f"HTTP {status} should be application/json, got {content_type!r}"
    if charset is not None and charset != "utf-8":
        return f"JSON should be UTF-8, got charset {charset!r}"
    return None


def status_problem(
    method: str,
    path: str,
    status: int,
    declared: Collection[str] | None,
    router_page: bool,
    empty: bool = False,
    version: Version | None = None,
) -> str | None:
    """Why a status is wrong for a request the contract describes (None when it is right, or not judged).

    `declared` are the statuses the contract gives the operation (None: an operation it does not
    describe); `router_page` says the answer is gin's `404 page not found`, which is right only for a
    route the server's release does not serve yet (`releases.route_change`). `empty`: no body and no
    content type, as Ollama's own 403 (its Host and CORS guards, `AbortWithStatus`), which any route
    may answer; a 401 (credentials refused by a gateway in front: Ollama has none) is not judged.
    """
    if declared is None or status == 401 or (status == 403 and empty):
        return None
    added_by = route_change(path)
    served = added_by is None or has(version, added_by)
    if status == 404 and router_page:
        if not served:
            return None
        release = ".".join(map(str, version)) if version not in (None, DEVELOPMENT_BUILD) else "(the newest release)"
        return f"404 page not found, but Ollama {release} serves {method} {path}"
    if str(status) in declared or "default" in declared:
        return None
    listed = ", ".join(sorted(declared))
    return f"HTTP {status} is not an answer the contract declares for {method} {path} (it declares {listed})"
