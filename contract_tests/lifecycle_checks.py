"""The lifecycle checks: load the probe model, see it listed with the right expiry, unload it, leave all as found."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .checking import Check, ContractRun
from .lifecycle import PROBE_KEEP_ALIVE_SECONDS, listed, load, missing_after, restore, running
from .target import ContractTarget

#: How often `/api/ps` is read while waiting for a model to appear or leave (a real server unloads asynchronously).
POLL_SECONDS = 0.25


def _poll(target: ContractTarget, name: str, present: bool) -> Mapping[str, Any] | None:
    deadline = time.monotonic() + target.grace_seconds
    entry = listed(target, name)
    while (entry is not None) != present and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        entry = listed(target, name)
    return entry


def load_lists_the_model_with_a_matching_expiry(run: ContractRun) -> None:
    """Load (no prompt) with a short keep-alive: `done_reason: load`, listed, expires_at = load + keep-alive."""
    target, probe = run.target, run.probe()
    answer = probe.load_answer
    assert answer.status == 200, f"POST {answer.url} (load {probe.name}) answered {answer.status}: {answer.excerpt()}"
    body = answer.json()
    problems = [str(p) for p in validator_for("ollama", "GenerateResponse").problems(body)]
    assert not problems, f"load answer {answer.excerpt()}: {problems}"
    assert body.get("done") is True and body.get("done_reason") == "load", (
        f"load answer {answer.excerpt()}: expected done true and done_reason 'load'"
    )
    entry = _poll(target, probe.name, present=True)
    assert entry is not None, f"{probe.name} was loaded but /api/ps does not list it"
    expected = parse_timestamp(body["created_at"]) + timedelta(seconds=PROBE_KEEP_ALIVE_SECONDS)
    try:
        actual = parse_timestamp(str(entry.get("expires_at")))
    except ValueError:
        raise AssertionError(f"{probe.name}: /api/ps lists it with expires_at {entry.get('expires_at')!r}") from None
    assert abs((actual - expected).total_seconds()) <= 5, (
        f"{probe.name}: expires_at {entry['expires_at']} should be the load time {body['created_at']} "
        f"plus keep_alive {PROBE_KEEP_ALIVE_SECONDS} s (±5 s)"
    )


def unload_removes_the_model_within_grace(run: ContractRun) -> None:
    """`keep_alive: 0` without a prompt: `done_reason: unload`, and the model leaves /api/ps."""
    target, probe = run.target, run.probe()
    load(target, probe.name, PROBE_KEEP_ALIVE_SECONDS)
    answer = target.request("POST", "/api/generate", {"model": probe.name, "keep_alive": 0})
    assert answer.status == 200, f"POST {answer.url} (unload {probe.name}) answered {answer.status}: {answer.excerpt()}"
    reason = "unload" if target.has("unload_reason") else "load"  # older releases loaded, then expired
    assert answer.json().get("done_reason") == reason, f"unload answer {answer.excerpt()}: expected {reason!r}"
    entry = _poll(target, probe.name, present=False)
    assert entry is None, f"{probe.name} is still listed {target.grace_seconds:g} s after its unload: {entry}"


def server_is_left_as_found(run: ContractRun) -> None:
    """After the lifecycle checks every model is back as found: the probe model, and any the load evicted."""
    target, probe = run.target, run.probe()
    restore(target, probe.name, probe.running_before)
    now_listed = {str(model.get("name")) for model in running(target)}
    if probe.was_running is None:
        assert probe.name not in now_listed, f"{probe.name} was not running before the checks and is running now"
    missing = missing_after(probe, datetime.now(timezone.utc), now_listed)
    assert not missing, f"running before the checks, not expired, and no longer running: {', '.join(missing)}"


def lifecycle_checks() -> list[Check]:
    """The lifecycle checks, in the order they run (each loads the probe model itself if it runs alone)."""
    return [
        Check.of(load_lists_the_model_with_a_matching_expiry),
        Check.of(unload_removes_the_model_within_grace),
        Check.of(server_is_left_as_found),
    ]
