"""The semantic rules behind the contract checks, each failing with the model, field and values."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ollama_contract_kit.contract_tests.rules import content_type_problem, ps_problems, server_time
from ollama_contract_kit.openapi.releases import DEVELOPMENT_BUILD

from .conftest import load_json, real_captures


def _model(
    name: str, expires_at: str, size: int = 100, size_vram: int = 100, model: str | None = None
) -> dict[str, Any]:
    return {"name": name, "model": model or name, "size": size, "size_vram": size_vram, "expires_at": expires_at}


def _capture_version(capture: Any) -> tuple[int, ...] | None:
    """Captures 021 on are from Ollama 0.10.0-rc0 or later (PROVENANCE.md); earlier ones vary or are unknown."""
    return (0, 10, 0) if int(capture.name[:3]) >= 21 else None


@pytest.mark.parametrize("capture", real_captures(), ids=lambda path: path.name[:40])
def test_real_captures_keep_every_rule(capture: Any) -> None:
    assert ps_problems(load_json(capture), version=_capture_version(capture)) == []


def _unordered_without(*fields: str) -> dict[str, Any]:
    models = [_model("a:1", "2026-01-01T00:00:01Z"), _model("b:1", "2026-01-01T00:00:02Z")]
    for model in models:
        model["context_length"] = 4096
        for name in fields:
            model.pop(name)
    return {"models": models}


@pytest.mark.parametrize(
    ("version", "fields", "expected"),
    [
        ((0, 1, 40), ("size_vram", "context_length"), []),
        ((0, 1, 45), ("context_length",), []),
        ((0, 1, 45), ("size_vram",), ["no size_vram; Ollama sends it on every model since 0.1.42"] * 2),
        (DEVELOPMENT_BUILD, ("context_length",), ["no context_length"] * 2 + ["listed before"]),
        ((0, 2, 0), (), ["listed before"]),
        ((0, 9, 6), ("context_length",), ["listed before"]),
        ((0, 12, 3), ("context_length",), ["no context_length"] * 2 + ["listed before"]),
        (None, ("size_vram", "context_length"), ["listed before"]),
    ],
)
def test_what_a_version_always_sends_and_how_it_orders(
    version: tuple[int, ...] | None, fields: tuple[str, ...], expected: list[str]
) -> None:
    problems = ps_problems(_unordered_without(*fields), version=version)
    assert len(problems) == len(expected), problems
    assert all(words in problem for words, problem in zip(expected, problems, strict=True)), problems


def test_order_is_compared_as_instants_at_whole_seconds() -> None:
    same_second = {"models": [_model("a:1", "2026-01-01T00:00:00.1Z"), _model("b:1", "2026-01-01T00:00:00.9Z")]}
    assert ps_problems(same_second) == [], "within one second any order is right"
    zones = {"models": [_model("a:1", "2026-01-01T01:00:05+01:00"), _model("b:1", "2026-01-01T00:00:01Z")]}
    assert ps_problems(zones) == [], "01:00:05+01:00 is later than 00:00:01Z; as strings it would sort the other way"
    wrong = {"models": [_model("a:1", "2026-01-01T00:00:01Z"), _model("b:1", "2026-01-01T00:00:02Z")]}
    assert ps_problems(wrong) == [
        "models[0] 'a:1' (expires_at 2026-01-01T00:00:01Z) is listed before models[1] 'b:1' "
        "(expires_at 2026-01-01T00:00:02Z): /api/ps lists the latest expiry first"
    ]


def test_each_rule_names_model_field_and_values() -> None:
    body = {"models": [_model("a:1", "2026-01-01T00:00:00Z", size=10, size_vram=11, model="a")]}
    assert ps_problems(body) == [
        "models[0] 'a:1': name 'a:1' differs from model 'a'",
        "models[0] 'a:1': size_vram 11 is more than size 10",
    ]


def test_expired_models_may_linger_only_within_grace() -> None:
    body = {"models": [_model("a:1", "2026-01-01T00:00:00Z")]}
    now = datetime(2026, 1, 1, 0, 0, 30, tzinfo=timezone.utc)
    assert ps_problems(body, now=now, grace_seconds=60) == []
    problems = ps_problems(body, now=now, grace_seconds=10)
    assert len(problems) == 1 and "30 s before the server's time" in problems[0]


def test_server_time_comes_from_the_date_header() -> None:
    assert server_time("Thu, 26 Nov 2026 01:59:36 GMT") == datetime(2026, 11, 26, 1, 59, 36, tzinfo=timezone.utc)
    assert server_time("garbage") is None and server_time(None) is None


@pytest.mark.parametrize(
    ("status", "content_type", "body", "ok"),
    [
        (200, "application/json; charset=utf-8", b"{}", True),
        (200, "application/json", b"{}", True),
        (200, "text/plain", b"{}", False),
        (200, "application/json; charset=latin-1", b"{}", False),
        (405, "text/plain", b"405 method not allowed", True),
        (405, "text/html", b"<h1>", False),
        (404, "text/plain", b"404 page not found", True),
        (404, "application/json; charset=utf-8", b'{"error":"x"}', True),
        (404, "text/html", b"<html>", False),
    ],
)
def test_content_types(status: int, content_type: str, body: bytes, ok: bool) -> None:
    assert (content_type_problem(status, content_type, body) is None) is ok
