"""Generate and chat beyond text: format, think, tools and images, with Ollama's checks, bytes and effects on ps."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient

from ollama_contract_kit.openapi import validator_for

from .conftest import model_names

CHOICES = '("high", "medium", "low", "max", true, or false)'
TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 12},
                "limit": {"type": "integer", "exclusiveMinimum": 0, "maximum": 5},
                "when": {"type": "string", "format": "date-time"},
                "mode": {"enum": ["fast", "exact"]},
                "filters": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/filter"}},
            },
            "required": ["query", "limit", "mode", "filters"],
            "$defs": {
                "filter": {"type": "object", "properties": {"field": {"type": "string"}, "on": {"type": "boolean"}}}
            },
        },
    },
}


def _chat(http: FlaskClient, **body: Any) -> Any:
    return http.post("/api/chat", json={"model": "llama3.2", "stream": False, **body})


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_a_schema_format_answers_a_valid_value(http: FlaskClient) -> None:
    schema = TOOL["function"]["parameters"]  # type: ignore[index]
    answer = _chat(http, messages=[{"role": "user", "content": "find"}], format=schema).get_json()
    jsonschema.validate(json.loads(answer["message"]["content"]), schema)
    assert validator_for("ollama", "ChatResponse").problems(answer) == []


def test_tool_calls_have_ids_indexes_and_valid_arguments(http: FlaskClient) -> None:
    answer = _chat(http, messages=[{"role": "user", "content": "find it"}], tools=[TOOL]).get_json()
    assert validator_for("ollama", "ChatResponse").problems(answer) == []
    (call,) = answer["message"]["tool_calls"]
    assert call["id"].startswith("call_") and len(call["id"]) == 13 and call["function"]["index"] == 0
    jsonschema.validate(call["function"]["arguments"], TOOL["function"]["parameters"])  # type: ignore[index]
    assert answer["message"]["content"] == "" and answer["done_reason"] == "stop"
    again = _chat(http, messages=[{"role": "user", "content": "find it"}], tools=[TOOL]).get_json()
    assert again["message"]["tool_calls"] == answer["message"]["tool_calls"], "deterministic"


@pytest.mark.parametrize(
    "tool",
    [{}, {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}},
     {"type": "function", "function": {"name": "f", "parameters": "not a schema"}}],
    ids=["empty", "string-parameters", "parameters-not-an-object"],
)  # fmt: skip
def test_tool_call_arguments_are_always_an_object(http: FlaskClient, tool: dict[str, Any]) -> None:
    answer = _chat(http, messages=[{"role": "user", "content": "x"}], tools=[tool]).get_json()
    assert answer["message"]["tool_calls"][0]["function"]["arguments"] == {}
    assert validator_for("ollama", "ChatResponse").problems(answer) == []


def test_streamed_tool_calls_come_in_their_own_chunk_before_the_last(http: FlaskClient) -> None:
    lines = _lines(http.post("/api/chat", json={"model": "llama3.2", "messages": [{"role": "user", "content": "x"}],
                                                "tools": [TOOL]}).get_data())  # fmt: skip
    assert [bool(line["message"].get("tool_calls")) for line in lines] == [True, False]
    assert lines[-1]["done"] is True and "tool_calls" not in lines[-1]["message"]


def test_thinking_streams_before_the_content(http: FlaskClient) -> None:
    lines = _lines(http.post("/api/generate", json={"model": "qwen3:8b", "prompt": "why"}).get_data())
    kinds = ["thinking" if line.get("thinking") else "response" for line in lines if not line["done"]]
    assert kinds == sorted(kinds, key=lambda kind: kind != "thinking") and "thinking" in kinds
    assert all(line["response"] == "" for line in lines if line.get("thinking"))
    merged = http.post("/api/generate", json={"model": "qwen3:8b", "prompt": "why", "stream": False}).get_json()
    assert list(merged)[:5] == ["model", "created_at", "response", "thinking", "done"], "Go's key order"
    quiet = http.post("/api/generate", json={"model": "qwen3:8b", "prompt": "why", "think": False, "stream": False})
    assert "thinking" not in quiet.get_json()
    level = _chat(http, model="qwen3:8b", messages=[{"role": "user", "content": "x"}], think="high").get_json()
    assert level["message"]["thinking"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"think": "extreme"}, f'invalid think value: "extreme" (must be {CHOICES[1:-1]})'),
        ({"think": 1}, f"think must be a boolean or string {CHOICES}"),
        ({"think": True}, '"smollm2:360m" does not support thinking'),
        ({"images": ["data:image/png;base64,iVBORw0KGgo="]}, "illegal base64 data at input byte 4"),
        ({"images": ["abc"]}, "illegal base64 data at input byte 0"),
        ({"images": ["abcdAB"]}, "illegal base64 data at input byte 4"),
        ({"images": [5]}, "json: cannot unmarshal number into Go struct field GenerateRequest.images of type "
                          "api.ImageData"),
        ({"suffix": "end"}, "registry.ollama.ai/library/smollm2:360m does not support insert"),
        ({"raw": True, "system": "x"}, "raw mode does not support template, system, or context"),
        ({"top_logprobs": 21}, "top_logprobs must be between 0 and 20"),
    ],
)  # fmt: skip
def test_generate_refusals(http: FlaskClient, body: dict[str, Any], error: str) -> None:
    response = http.post("/api/generate", json={"model": "smollm2:360m", "prompt": "x", **body})
    assert (response.status_code, response.get_json()) == (400, {"error": error})
    assert "smollm2:360m" not in model_names(http.get("/api/ps").get_json()), "refused before loading"


def test_tools_are_refused_even_on_a_load(http: FlaskClient) -> None:
    response = http.post("/api/chat", json={"model": "smollm2:360m", "tools": [TOOL]})
    assert response.get_json() == {"error": "registry.ollama.ai/library/smollm2:360m does not support tools"}


def test_an_unusable_format_is_a_500_after_the_model_loaded(http: FlaskClient) -> None:
    response = http.post("/api/generate", json={"model": "smollm2:360m", "prompt": "x", "format": "yaml"})
    assert response.status_code == 500
    assert response.get_json() == {
        "error": 'invalid format: "\\"yaml\\""; expected "json" or a valid JSON Schema object'
    }
    assert "smollm2:360m" in model_names(http.get("/api/ps").get_json())
    load_only = http.post("/api/generate", json={"model": "codellama:7b", "format": "yaml"})
    assert load_only.get_json()["done_reason"] == "load", "a load ignores format"


def test_images_reach_a_vision_model(http: FlaskClient) -> None:
    answer = _chat(http, model="llava:7b", messages=[{"role": "user", "content": "what?", "images": ["iVBORw0KGgo="]}])
    assert "(I see 1 image.)" in answer.get_json()["message"]["content"]
    text_only = http.post("/api/generate", json={"model": "smollm2:360m", "prompt": "what?", "images": ["iVBORw0KGgo="],
                                                 "stream": False})  # fmt: skip
    # llama-server refuses the images of a model without a projector; Ollama relays its error body as the text.
    assert text_only.status_code == 400
    assert "Multimodal data provided, but model does not support multimodal requests." in text_only.get_json()["error"]
    picture = [{"role": "user", "content": "what?", "images": ["iVBORw0KGgo="]}]
    chat = _chat(http, model="smollm2:360m", messages=picture)
    assert chat.status_code == 500 and "image input is not supported" in chat.get_json()["error"]
    assert "smollm2:360m" in [model["name"] for model in http.get("/api/ps").get_json()["models"]], "it loaded first"
