"""The /v1 layer's bytes as Ollama's translating writers send them, and its loads in /api/ps."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockConfig, create_app
from ollama_contract_kit.mock_server.world.fixtures import build_world_document
from ollama_contract_kit.openapi import validator_for

from .conftest import model_names


def _events(body: bytes) -> list[Any]:
    frames = body.decode().split("\n\n")
    assert frames[-1] == "" and all(frame.startswith("data: ") for frame in frames[:-1]), body[:200]
    return [frame.removeprefix("data: ") for frame in frames[:-1]]


def test_answers_are_encoder_json_with_a_newline_and_no_charset(http: FlaskClient) -> None:
    response = http.get("/v1/models")
    assert response.headers["Content-Type"] == "application/json" and response.get_data().endswith(b"}\n")
    body = response.get_json()
    assert validator_for("openai", "ModelList").problems(body) == []
    owners = {model["id"]: model["owned_by"] for model in body["data"]}
    assert (
        owners["llama3.2:latest"] == "library"
        and owners["hf.co/bartowski/Ministral-8B-Instruct-2410-GGUF:IQ4_XS"] == "bartowski"
    )


def test_no_models_is_data_null() -> None:
    empty = create_app(MockConfig(world=build_world_document({"models": []}, "test"), log_requests=False))
    assert empty.test_client().get("/v1/models").get_json() == {"object": "list", "data": None}


def test_retrieve_keeps_the_id_as_asked(http: FlaskClient) -> None:
    assert http.get("/v1/models/LLAMA3.2").get_json()["id"] == "LLAMA3.2"
    missing = http.get("/v1/models/llama9")
    assert missing.status_code == 404
    assert missing.get_json() == {
        "error": {"message": "model 'llama9:latest' not found", "type": "not_found_error", "param": None, "code": None}
    }
    slashed = http.get("/v1/models/hf.co/bartowski/x")
    assert (slashed.status_code, slashed.get_data()) == (404, b"404 page not found")


def test_chat_completion_loads_with_the_default_keep_alive(http: FlaskClient) -> None:
    response = http.post("/v1/chat/completions", json={"model": "smollm2:360m", "keep_alive": 0,
                                                       "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    body = response.get_json()
    assert validator_for("openai", "ChatCompletion").problems(body) == []
    assert body["id"].startswith("chatcmpl-") and body["system_fingerprint"] == "fp_ollama"
    assert "smollm2:360m" in model_names(http.get("/api/ps").get_json()), "keep_alive cannot be set through /v1"


def test_streamed_chat_is_sse_ending_with_done(http: FlaskClient) -> None:
    response = http.post(
        "/v1/chat/completions",
        json={"model": "qwen3:8b", "stream": True, "stream_options": {"include_usage": True},
              "messages": [{"role": "user", "content": "a b"}]},
    )  # fmt: skip
    assert response.headers["Content-Type"] == "text/event-stream"
    frames = _events(response.get_data())
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(frame) for frame in frames[:-1]]
    assert len({chunk["id"] for chunk in chunks}) == 1
    stamps = [chunk["created"] for chunk in chunks]
    assert stamps == sorted(stamps), "each chunk stamped when sent (Ollama 0.32.6 and later), in order"
    assert chunks[0]["choices"][0]["delta"]["reasoning"], "a thinking model's thinking comes first, as reasoning"
    assert chunks[-2]["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    assert all("usage" not in chunk for chunk in chunks[:-1]), "earlier chunks leave usage out"


def test_completions_and_an_empty_prompt_load(http: FlaskClient) -> None:
    loaded = http.post("/v1/completions", json={"model": "codellama:7b", "prompt": ""}).get_json()
    assert loaded["choices"] == [{"text": "", "index": 0, "finish_reason": "load"}]
    assert "codellama:7b" in model_names(http.get("/api/ps").get_json())
    frames = _events(
        http.post("/v1/completions", json={"model": "codellama:7b", "prompt": "x", "stream": True}).get_data()
    )
    chunks = [json.loads(frame) for frame in frames[:-1]]
    assert list(chunks[0]) == ["id", "object", "created", "choices", "model", "system_fingerprint"], (
        "choices before model"
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and frames[-1] == "[DONE]"


@pytest.mark.parametrize(
    ("route", "body", "status", "message", "charset"),
    [
        ("/v1/chat/completions", {"model": "llama3.2", "messages": []}, 400, "[] is too short - 'messages'", True),
        ("/v1/chat/completions", {"model": "llama3.2", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}, 400,
         "image URLs are not currently supported, please use base64 encoded data instead", True),
        ("/v1/chat/completions", {"model": "llama3.2", "reasoning_effort": "huge", "messages": [{"role": "user"}]}, 400,
         'invalid reasoning value: "huge" (must be "minimal", "low", "medium", "high", "xhigh", "ultra", "max", '
         'or "none")', True),
        ("/v1/chat/completions", {"model": "llama3.2", "reasoning_effort": ["high"], "messages": [{"role": "user"}]},
         400, "json: cannot unmarshal array into Go struct field ChatCompletionRequest.reasoning_effort of type string",
         True),
        ("/v1/chat/completions", {"model": "llama3.2", "reasoning": {"effort": {}}, "messages": [{"role": "user"}]},
         400, "json: cannot unmarshal object into Go struct field Reasoning.reasoning.effort of type string", True),
        ("/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404,
         "model 'nope' not found", False),
        ("/v1/embeddings", {"model": "nomic-embed-text", "input": []}, 400, "invalid input", True),
        ("/v1/embeddings", {"model": "nomic-embed-text", "input": "x", "encoding_format": "hex"}, 400,
         "Invalid value for 'encoding_format' = hex. Supported values: ['float', 'base64'].", True),
        ("/v1/embeddings", {"model": "llama3.2", "input": "x"}, 501,
         "This server does not support embeddings. Start it with `--embeddings`", False),
        ("/v1/completions", {"model": "llama3.2", "prompt": ["a"]}, 400,
         "json: cannot unmarshal array into Go struct field CompletionRequest.prompt of type string", True),
    ],
)  # fmt: skip
def test_errors_have_openais_shape(
    http: FlaskClient, route: str, body: dict[str, Any], status: int, message: str, charset: bool
) -> None:
    response = http.post(route, json=body)
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    assert response.status_code == status
    assert response.get_json() == {"error": {"message": message, "type": kind, "param": None, "code": None}}
    # The middleware's own refusals are gin's c.JSON; the native handler's pass the translating writer.
    assert response.headers["Content-Type"] == ("application/json; charset=utf-8" if charset else "application/json")
    assert response.get_data().endswith(b"\n") is not charset


def test_an_empty_body_is_eof(http: FlaskClient) -> None:
    response = http.post("/v1/chat/completions", data=b"")
    assert response.get_json()["error"]["message"] == "EOF"
