"""Loading, unloading and expiry through /api/generate and /api/chat, with the mock's clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockConfig, create_app
from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .conftest import model_names

SMALL = "smollm2:360m"


def _entry(http: FlaskClient, name: str = "smollm2:360m") -> dict[str, object] | None:
    return next((m for m in http.get("/api/ps").get_json()["models"] if m["name"] == name), None)


def _frozen(app: Flask) -> datetime:
    return app.extensions["ollama_mock"].clock.freeze()


@pytest.mark.parametrize("endpoint", ["/api/generate", "/api/chat"])
def test_request_with_only_a_model_loads_it_echoing_the_name_verbatim(http: FlaskClient, endpoint: str) -> None:
    http.post("/api/generate", json={"model": "llama3.2", "keep_alive": 0})
    assert _entry(http, "llama3.2:latest") is None
    response = http.post(endpoint, json={"model": "llama3.2"})
    body = response.get_json()
    assert response.status_code == 200
    assert body["done_reason"] == "load" and body["done"] is True
    assert body["model"] == "llama3.2", "the request's name is echoed verbatim"
    assert body["created_at"].endswith("Z")
    schema = "GenerateResponse" if endpoint.endswith("generate") else "ChatResponse"
    assert validator_for("ollama", schema).problems(body) == []
    assert _entry(http, "llama3.2:latest") is not None, "ps lists the installed name, tag included"


def test_unknown_tag_is_not_found(http: FlaskClient) -> None:
    response = http.post("/api/generate", json={"model": "smollm2"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "model 'smollm2' not found"}


@pytest.mark.parametrize("endpoint", ["/api/generate", "/api/chat"])
def test_load_lists_model_with_default_five_minutes(app: Flask, http: FlaskClient, endpoint: str) -> None:
    now = _frozen(app)
    response = http.post(endpoint, json={"model": "SmolLM2:360M"})
    assert response.status_code == 200
    assert list(response.get_json()) == (
        ["model", "created_at", "response", "done", "done_reason"]
        if endpoint.endswith("generate")
        else ["model", "created_at", "message", "done", "done_reason"]
    )
    entry = _entry(http)
    assert entry is not None, "listed under its installed name, matched case-insensitively"
    assert parse_timestamp(str(entry["expires_at"])) == now + timedelta(minutes=5)


def test_keep_alive_as_seconds_duration_string_and_negative(app: Flask, http: FlaskClient) -> None:
    now = _frozen(app)
    for keep_alive, expected in [
        (90, timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        (1.5, timedelta(seconds=1.5)),
        (".5s", timedelta(seconds=0.5)),
        ("5.m", timedelta(minutes=5)),
        ("+1h1m1s1ms", timedelta(hours=1, minutes=1, seconds=1, milliseconds=1)),
        ("0s" * 100_000 + "2m", timedelta(minutes=2)),  # long, and still read in one pass
    ]:
        http.post("/api/generate", json={"model": SMALL, "keep_alive": keep_alive})
        assert parse_timestamp(str(_entry(http)["expires_at"])) == now + expected  # type: ignore[index]
    http.post("/api/generate", json={"model": SMALL, "keep_alive": "-1m"})
    assert parse_timestamp(str(_entry(http)["expires_at"])).year >= now.year + 292  # type: ignore[index]


def test_later_request_without_keep_alive_keeps_the_current_duration(app: Flask, http: FlaskClient) -> None:
    now = _frozen(app)
    http.post("/api/generate", json={"model": SMALL, "keep_alive": "1h"})
    app.extensions["ollama_mock"].clock.advance(600)
    http.post("/api/generate", json={"model": SMALL})
    assert parse_timestamp(str(_entry(http)["expires_at"])) == now + timedelta(seconds=600 + 3600)  # type: ignore[index]


@pytest.mark.parametrize("keep_alive", [0, "0", "0s", 0.0])
@pytest.mark.parametrize("endpoint", ["/api/generate", "/api/chat"])
def test_keep_alive_zero_unloads(http: FlaskClient, endpoint: str, keep_alive: object) -> None:
    http.post(endpoint, json={"model": SMALL})
    assert _entry(http) is not None
    response = http.post(endpoint, json={"model": SMALL, "keep_alive": keep_alive})
    assert response.status_code == 200
    assert response.get_json()["done_reason"] == "unload"
    assert _entry(http) is None


def test_unload_of_a_model_not_running_still_answers_unload(http: FlaskClient) -> None:
    response = http.post("/api/generate", json={"model": "codellama:7b", "keep_alive": 0})
    assert response.status_code == 200 and response.get_json()["done_reason"] == "unload"


def test_models_expire_when_the_clock_passes_expires_at(app: Flask, http: FlaskClient) -> None:
    _frozen(app)
    clock = app.extensions["ollama_mock"].clock
    http.post("/api/generate", json={"model": SMALL, "keep_alive": 60})
    clock.advance(59.9)
    assert _entry(http) is not None
    clock.advance(0.1)
    assert _entry(http) is None
    clock.advance(3600)
    assert model_names(http.get("/api/ps").get_json()) == ["llama3.2:latest"], "only the forever model is left"


def test_unload_delay_keeps_model_listed_as_stopping(tmp_path: object) -> None:
    app = create_app(MockConfig(unload_delay=2.0, log_requests=False))
    http = app.test_client()
    clock = app.extensions["ollama_mock"].clock
    now = clock.freeze()
    http.post("/api/generate", json={"model": SMALL})
    http.post("/api/generate", json={"model": SMALL, "keep_alive": 0})
    entry = _entry(http)
    assert entry is not None and parse_timestamp(str(entry["expires_at"])) == now
    clock.advance(2)
    assert _entry(http) is None


def test_max_loaded_evicts_the_model_expiring_soonest() -> None:
    app = create_app(MockConfig(max_loaded=3, log_requests=False))
    http = app.test_client()
    http.post("/api/generate", json={"model": SMALL})
    names = model_names(http.get("/api/ps").get_json())
    assert len(names) == 3 and SMALL in names
    assert "hf.co/bartowski/Ministral-8B-Instruct-2410-GGUF:IQ4_XS" not in names


def test_prompt_streams_a_deterministic_ndjson_completion(http: FlaskClient) -> None:
    response = http.post("/api/generate", json={"model": SMALL, "prompt": "Why is the sky blue?"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data().splitlines()]
    assert all(validator_for("ollama", "GenerateResponse").problems(line) == [] for line in lines)
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert lines[-1]["done_reason"] == "stop"
    text = "".join(line["response"] for line in lines)
    assert text == "Mock answer from smollm2:360m to: Why is the sky blue?"
    again = http.post("/api/generate", json={"model": SMALL, "prompt": "Why is the sky blue?"})
    assert [json.loads(line)["response"] for line in again.get_data().splitlines()] == [
        line["response"] for line in lines
    ]
    assert _entry(http) is not None


def test_stream_false_answers_one_object(http: FlaskClient) -> None:
    response = http.post(
        "/api/chat", json={"model": SMALL, "stream": False, "messages": [{"role": "user", "content": "hi"}]}
    )
    body = response.get_json()
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert body["message"] == {"role": "assistant", "content": "Mock answer from smollm2:360m to: hi"}
    assert body["done"] is True and body["eval_count"] > 0
    assert validator_for("ollama", "ChatResponse").problems(body) == []


def test_prompt_with_keep_alive_zero_answers_then_unloads(http: FlaskClient) -> None:
    response = http.post("/api/generate", json={"model": SMALL, "prompt": "x", "stream": False, "keep_alive": 0})
    assert response.get_json()["response"]
    assert _entry(http) is None


ERRORS = [
    ("/api/generate", b"", 400, "missing request body"),
    ("/api/chat", b"   ", 400, "missing request body"),
    ("/api/generate", b"{", 400, "unexpected EOF"),
    ("/api/generate", b"not json", 400, "invalid character 'n' looking for beginning of value"),
    ("/api/generate", b"[]", 400, "json: cannot unmarshal array into Go value of type api.GenerateRequest"),
    ("/api/chat", b"[]", 400, "json: cannot unmarshal array into Go value of type api.ChatRequest"),
    (
        "/api/generate",
        b'{"model":1}',
        400,
        "json: cannot unmarshal number into Go struct field GenerateRequest.model of type string",
    ),
    (
        "/api/generate",
        b'{"model":"smollm2:360m","stream":"yes"}',
        400,
        "json: cannot unmarshal string into Go struct field GenerateRequest.stream of type bool",
    ),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":"10"}', 400, 'time: missing unit in duration "10"'),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":"-1"}', 400, 'time: missing unit in duration "-1"'),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":""}', 400, 'time: invalid duration ""'),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":"5x"}', 400, 'time: unknown unit "x" in duration "5x"'),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":"1s."}', 400, 'time: invalid duration "1s."'),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":".s"}', 400, 'time: invalid duration ".s"'),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":"75479389h"}', 400, 'time: invalid duration "75479389h"'),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":true}', 400, "Unsupported type: 'bool'"),
    ("/api/generate", b'{"model":"smollm2:360m","keep_alive":{}}', 400, "Unsupported type: 'map[string]interface {}'"),
    ("/api/chat", b'{"model":"smollm2:360m","keep_alive":[]}', 400, "Unsupported type: '[]interface {}'"),
    ("/api/generate", b"{}", 404, "model '' not found"),
    ("/api/generate", b"null", 404, "model '' not found"),
    ("/api/chat", b"{}", 400, "model is required"),
    ("/api/generate", b'{"model":"llama9"}', 404, "model 'llama9' not found"),
    ("/api/chat", b'{"model":"llama9:7b"}', 404, "model 'llama9:7b' not found"),
    ("/api/generate", b'{"model":"bad name!"}', 400, "invalid model name"),
    ("/api/generate", b'{"model":"nomic-embed-text"}', 400, '"nomic-embed-text" does not support generate'),
    ("/api/chat", b'{"model":"nomic-embed-text"}', 400, '"nomic-embed-text" does not support chat'),
]


@pytest.mark.parametrize(("endpoint", "body", "status", "error"), ERRORS, ids=[f"{e[0]} {e[1][:30]!r}" for e in ERRORS])
def test_bad_requests_get_the_real_status_and_error_text(
    http: FlaskClient, endpoint: str, body: bytes, status: int, error: str
) -> None:
    response = http.post(endpoint, data=body, content_type="application/json")
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.get_json() == {"error": error}


def test_trailing_data_after_the_json_value_is_ignored(http: FlaskClient) -> None:
    response = http.post("/api/generate", data=b'{"model":"smollm2:360m"} trailing', content_type="application/json")
    assert response.status_code == 200


def test_huge_numeric_keep_alive_overflows_and_unloads(http: FlaskClient) -> None:
    # Go converts 1e300 s to a Duration past int64: the minimum on amd64, so a negative keep-alive
    # (api.Duration.UnmarshalJSON; docs/ollama-facts/scheduler.md): loaded, then unloaded when the request ends.
    answer = http.post("/api/generate", json={"model": SMALL, "keep_alive": 1e300})
    assert answer.get_json()["done_reason"] == "load"
    assert _entry(http) is None
    http.post("/api/generate", json={"model": SMALL, "keep_alive": 9e9})
    assert parse_timestamp(str(_entry(http)["expires_at"])) > datetime.now(timezone.utc) + timedelta(days=365 * 285)  # type: ignore[index]
