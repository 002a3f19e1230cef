"""The contract suite: one set of checks for the in-process mock, a mock on a port, or a live server.

Import its tests into a pytest module and enable `ollama_contract_kit.contract_tests.plugin`
(`ollama-contract verify` does both). Live servers are never asked to generate text: the
Schemathesis runs against them cover the read-only operations, and the lifecycle checks only
load and unload the smallest installed model, then leave the server as they found it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import schemathesis
from hypothesis import settings

from ollama_contract_kit.openapi import spec_path, validator_for
from ollama_contract_kit.openapi.releases import CHANGES, route_change
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from . import checks  # noqa: F401  (registers the kit's Schemathesis checks)
from .fuzz_config import PHASES, checks_for
from .lifecycle import (
    PROBE_KEEP_ALIVE_SECONDS,
    LifecycleUnavailable,
    ProbeModel,
    listed,
    load,
    load_probe_model,
    missing_after,
    restore,
    running,
)
from .profile import suite_settings
from .rules import content_type_problem, ps_problems, server_time
from .target import ContractTarget

#: The read-only operations, the only ones a live server gets (no per-operation settings: see checks_for).
read_only_operations = schemathesis.openapi.from_path(
    str(spec_path("ollama")), config=schemathesis.Config.from_dict({"phases": PHASES})
).include(method="GET")
#: Schemathesis on generate/chat bodies, mock only (the mock's other routes are fuzzed by the kit's own tests).
generating_operations = schemathesis.openapi.from_path(
    str(spec_path("ollama")),
    config=schemathesis.Config.from_dict({"phases": PHASES, "checks": checks_for("/api/generate")}),
).include(operation_id=["generate", "chat"])
NO_SUCH_MODEL = "ollama-contract-kit-no-such-model:0"


@read_only_operations.parametrize()
@settings(parent=suite_settings())
def test_read_only_operation_conforms(case: Any, contract_target: ContractTarget) -> None:
    """Schemathesis: every built-in check and the kit's, positive and negative data."""
    added_by = route_change(case.path)
    if added_by is not None and not contract_target.has(added_by):
        answer = contract_target.request(case.method, case.path)
        assert answer.status == 404 and answer.body.strip() == b"404 page not found", (
            f"{case.method} {answer.url}: this release had no {case.path} "
            f"(since {'.'.join(map(str, CHANGES[added_by].since))}): expected 404 page not found, "
            f"got {answer.status} {answer.excerpt()}"
        )
        return
    contract_target.call_and_validate(case)


@generating_operations.parametrize()
@settings(parent=suite_settings())
def test_generate_and_chat_conform(case: Any, contract_target: ContractTarget) -> None:
    """Schemathesis on generate/chat bodies (mock only: a live server is never asked to generate)."""
    if contract_target.live:
        pytest.skip("live servers are never asked to generate text")
    contract_target.call_and_validate(case)


def test_ps_answers_the_schema_and_the_rules(contract_target: ContractTarget) -> None:
    """GET /api/ps: 200, JSON, valid against the schema, names, sizes, order and expiry consistent."""
    answer = contract_target.request("GET", "/api/ps")
    assert answer.status == 200, f"GET {answer.url} answered {answer.status}: {answer.excerpt()}"
    problem = content_type_problem(200, answer.headers.get("Content-Type"))
    assert problem is None, f"GET {answer.url}: {problem}"
    try:
        body = answer.json()
    except ValueError:
        raise AssertionError(f"GET {answer.url}: the body is not JSON: {answer.excerpt()}") from None
    problems = [str(p) for p in validator_for("ollama", "PsResponse").problems(body)]
    problems += ps_problems(body, now=server_time(answer.headers.get("Date")), version=contract_target.version)
    assert not problems, f"GET {answer.url}:\n" + "\n".join(problems) + f"\nbody: {answer.excerpt()}"


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "PATCH", "DELETE"])
def test_ps_answers_only_get(contract_target: ContractTarget, method: str) -> None:
    """Other methods on /api/ps: 405 with `Allow: GET` and gin's plain-text body (404 before Ollama 0.7)."""
    answer = contract_target.request(method, "/api/ps")
    if contract_target.routes_wrong_methods_to_404 and answer.status == 404:
        assert method == "HEAD" or answer.body.strip() == b"404 page not found", (
            f"{method} {answer.url}: {answer.excerpt()!r}"
        )
        return  # Ollama before 0.7 had no 405 handling: a plain 404 is what it answers
    assert answer.status == 405, f"{method} {answer.url} answered {answer.status}, expected 405 (Ollama 0.7 and later)"
    assert "GET" in [item.strip() for item in answer.headers.get("Allow", "").split(",")], (
        f"{method} {answer.url}: Allow is {answer.headers.get('Allow')!r}, expected it to name GET"
    )
    assert content_type_problem(405, answer.headers.get("Content-Type"), answer.body) is None, (
        f"{method} {answer.url}: Content-Type {answer.headers.get('Content-Type')!r}, expected text/plain"
    )


def test_unknown_path_is_a_plain_404(contract_target: ContractTarget) -> None:
    """An unknown path: 404 `404 page not found`."""
    answer = contract_target.request("GET", "/api/no-such-route")
    assert answer.status == 404, f"GET {answer.url} answered {answer.status}, expected 404"
    assert answer.body.strip() == b"404 page not found", f"GET {answer.url}: body {answer.excerpt()!r}"


def test_unknown_model_is_404_with_error_text(contract_target: ContractTarget) -> None:
    """Loading a model that is not installed: 404 `model '...' not found` (nothing is loaded)."""
    answer = contract_target.request("POST", "/api/generate", {"model": NO_SUCH_MODEL})
    assert answer.status == 404, f"POST {answer.url} answered {answer.status}: {answer.excerpt()}"
    data = answer.json_or_none()
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    assert NO_SUCH_MODEL in error and "not found" in error, f"POST {answer.url}: error {answer.excerpt()!r}"


def test_keep_alive_without_unit_is_400(contract_target: ContractTarget) -> None:
    """`keep_alive: "10"` is refused before anything loads: 400 `time: missing unit in duration "10"`."""
    answer = contract_target.request("POST", "/api/generate", {"model": NO_SUCH_MODEL, "keep_alive": "10"})
    assert answer.status == 400, f"POST {answer.url} answered {answer.status}: {answer.excerpt()}"
    assert b"missing unit" in answer.body, f"POST {answer.url}: {answer.excerpt()!r}"


@pytest.fixture(scope="module")
def probe(contract_target: ContractTarget) -> Iterator[ProbeModel]:
    """The smallest installed model that loads, loaded; afterwards the server is left as it was found."""
    if contract_target.read_only:
        pytest.skip("--read-only: the load/unload checks change server state")
    try:
        loaded = load_probe_model(contract_target)
    except LifecycleUnavailable as reason:
        pytest.skip(str(reason))
    yield loaded
    restore(contract_target, loaded.name, loaded.running_before)


def _poll(contract_target: ContractTarget, name: str, present: bool) -> Mapping[str, Any] | None:
    deadline = time.monotonic() + contract_target.grace_seconds
    entry = listed(contract_target, name)
    while (entry is not None) != present and time.monotonic() < deadline:
        time.sleep(0.25)
        entry = listed(contract_target, name)
    return entry


def test_load_lists_the_model_with_a_matching_expiry(contract_target: ContractTarget, probe: ProbeModel) -> None:
    """Load (no prompt) with a short keep-alive: `done_reason: load`, listed, expires_at = load + keep-alive."""
    answer = probe.load_answer
    assert answer.status == 200, f"POST {answer.url} (load {probe.name}) answered {answer.status}: {answer.excerpt()}"
    body = answer.json()
    problems = [str(p) for p in validator_for("ollama", "GenerateResponse").problems(body)]
    assert not problems, f"load answer {answer.excerpt()}: {problems}"
    assert body.get("done") is True and body.get("done_reason") == "load", (
        f"load answer {answer.excerpt()}: expected done true and done_reason 'load'"
    )
    entry = _poll(contract_target, probe.name, present=True)
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


def test_unload_removes_the_model_within_grace(contract_target: ContractTarget, probe: ProbeModel) -> None:
    """`keep_alive: 0` without a prompt: `done_reason: unload`, and the model leaves /api/ps."""
    load(contract_target, probe.name, PROBE_KEEP_ALIVE_SECONDS)
    answer = contract_target.request("POST", "/api/generate", {"model": probe.name, "keep_alive": 0})
    assert answer.status == 200, f"POST {answer.url} (unload {probe.name}) answered {answer.status}: {answer.excerpt()}"
    reason = "unload" if contract_target.has("unload_reason") else "load"  # older releases loaded, then expired
    assert answer.json().get("done_reason") == reason, f"unload answer {answer.excerpt()}: expected {reason!r}"
    entry = _poll(contract_target, probe.name, present=False)
    assert entry is None, f"{probe.name} is still listed {contract_target.grace_seconds:g} s after its unload: {entry}"


def test_server_is_left_as_found(contract_target: ContractTarget, probe: ProbeModel) -> None:
    """After the lifecycle checks every model is back as found: the probe model, and any the load evicted."""
    restore(contract_target, probe.name, probe.running_before)
    now_listed = {str(model.get("name")) for model in running(contract_target)}
    if probe.was_running is None:
        assert probe.name not in now_listed, f"{probe.name} was not running before the checks and is running now"
    missing = missing_after(probe, datetime.now(timezone.utc), now_listed)
    assert not missing, f"running before the checks, not expired, and no longer running: {', '.join(missing)}"
