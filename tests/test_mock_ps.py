"""GET /api/ps on the mock: the real wire format, order and validity."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from flask import Flask
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockConfig, create_app
from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .conftest import model_names

KEYS = ["name", "model", "size", "digest", "details", "expires_at", "size_vram", "context_length"]
DETAIL_KEYS = ["parent_model", "format", "family", "families", "parameter_size", "quantization_level"]


def test_ps_body_is_compact_json_in_go_field_order(http: FlaskClient) -> None:
    response = http.get("/api/ps")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.get_data()
    assert not body.endswith(b"\n")
    assert b" " not in body.replace(b"Mock ", b"")
    decoded = json.loads(body)
    assert validator_for("ollama", "PsResponse").problems(decoded) == []
    for model in decoded["models"]:
        assert list(model) == KEYS
        assert list(model["details"]) == DETAIL_KEYS
        assert model["name"] == model["model"]
        assert model["details"]["parent_model"] == ""


def test_ps_lists_latest_expiry_first(http: FlaskClient) -> None:
    expiries = [parse_timestamp(m["expires_at"]) for m in http.get("/api/ps").get_json()["models"]]
    seconds = [int(moment.timestamp()) for moment in expiries]
    assert seconds == sorted(seconds, reverse=True)
    assert len(seconds) == 3


def test_forever_model_expires_about_292_years_ahead(http: FlaskClient) -> None:
    first = http.get("/api/ps").get_json()["models"][0]
    ahead = parse_timestamp(first["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(days=365 * 292) < ahead < timedelta(days=365 * 293)


def test_expires_at_uses_the_server_zone_and_trims_fraction() -> None:
    app = create_app(MockConfig(timezone=timezone(timedelta(hours=5, minutes=30)), log_requests=False))
    state = app.extensions["ollama_mock"]
    state.clock.freeze(datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=timezone.utc))
    http = app.test_client()
    http.post("/_mock/reset")
    state.clock.freeze(datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=timezone.utc))
    http.post("/api/generate", json={"model": "smollm2:360m", "keep_alive": 60})
    entry = next(m for m in http.get("/api/ps").get_json()["models"] if m["name"] == "smollm2:360m")
    assert entry["expires_at"] == "2026-01-01T17:31:00.5+05:30"
    http.post("/api/generate", json={"model": "smollm2:360m", "keep_alive": 59.5})
    entry = next(m for m in http.get("/api/ps").get_json()["models"] if m["name"] == "smollm2:360m")
    assert entry["expires_at"] == "2026-01-01T17:31:00+05:30"


def test_empty_world_answers_models_empty_array(app: Flask) -> None:
    http = app.test_client()
    http.put("/_mock/world", json={"models": []})
    response = http.get("/api/ps")
    assert response.get_data() == b'{"models":[]}'
    assert response.headers["Content-Length"] == "13"


def test_html_characters_are_escaped_like_go(app: Flask) -> None:
    http = app.test_client()
    world = http.get("/_mock/world").get_json()
    world["models"][0]["details"]["family"] = "a<b>&c"
    assert http.put("/_mock/world", json=world).status_code == 200
    http.post("/api/generate", json={"model": world["models"][0]["name"]})
    body = http.get("/api/ps").get_data()
    assert b"a\\u003cb\\u003e\\u0026c" in body


def test_ps_body_is_cached_until_something_changes(app: Flask) -> None:
    http = app.test_client()
    first = http.get("/api/ps").get_data()
    assert http.get("/api/ps").get_data() is not None
    state = app.extensions["ollama_mock"]
    assert state.ps_body() is state.ps_body()
    http.post("/api/generate", json={"model": "smollm2:360m"})
    assert "smollm2:360m" in model_names(http.get("/api/ps").get_json())
    assert http.get("/api/ps").get_data() != first


def test_query_string_and_body_on_get_are_ignored(http: FlaskClient) -> None:
    plain = http.get("/api/ps").get_json()
    assert http.get("/api/ps?verbose=1", data=b"{garbage").get_json() == plain
