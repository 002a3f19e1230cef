"""`POST /v1/messages` as Ollama 0.33 serves it: byte by byte over plain HTTP (Go structs in field order,
no `ping`, no `[DONE]`, `call_…` tool ids, Anthropic's errors) and through the official `anthropic` client."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from ollama_contract_kit.mock_server import MockConfig, MockOllama, create_app
from ollama_contract_kit.openapi import validator_for

HELLO = {"model": "llama3.2", "max_tokens": 100, "messages": [{"role": "user", "content": "Hello!"}]}
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
}


def post(mock: MockOllama, body: dict[str, Any]) -> requests.Response:
    return requests.post(mock.url + "/v1/messages", json=body, timeout=30)


def events(answer: requests.Response) -> list[tuple[str, str]]:
    """(event name, raw data line) of each frame of an SSE answer."""
    frames = answer.content.decode().split("\n\n")
    assert frames[-1] == ""
    return [tuple(line.split(": ", 1)[1] for line in frame.split("\n")) for frame in frames[:-1]]  # type: ignore[misc]


def without_id(raw: bytes) -> bytes:
    return re.sub(rb'"msg_[0-9a-f]{24}"', b'"msg_ID"', raw)


def test_a_message_is_go_s_struct_with_a_newline(ollama_mock: MockOllama) -> None:
    answer = post(ollama_mock, HELLO)
    assert answer.headers["Content-Type"] == "application/json"
    assert without_id(answer.content) == (
        b'{"id":"msg_ID","type":"message","role":"assistant","model":"llama3.2","content":[{"type":"text",'
        b'"text":"Mock answer from llama3.2 to: Hello!"}],"stop_reason":"end_turn","usage":{"input_tokens":6,'
        b'"output_tokens":6}}\n'
    )
    assert validator_for("openai", "AnthropicMessage").problems(answer.json()) == []


def test_the_stream_has_no_ping_and_starts_with_the_estimate(ollama_mock: MockOllama) -> None:
    answer = post(ollama_mock, HELLO | {"stream": True})
    assert answer.headers["Content-Type"] == "text/event-stream" and answer.headers["Cache-Control"] == "no-cache"
    frames = events(answer)
    names = [name for name, _ in frames]
    assert names == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 6,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert without_id(frames[0][1].encode()) == (
        b'{"type":"message_start","message":{"id":"msg_ID","type":"message","role":"assistant","model":"llama3.2",'
        b'"content":[],"usage":{"input_tokens":2,"output_tokens":0}}}'
    ), "(len('user') + len('Hello!')) // 4 = 2 input tokens, estimated before the prompt is read"
    assert frames[1][1] == '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'
    assert frames[2][1] == '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Mock "}}'
    assert frames[-2][1] == (
        '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":6,"output_tokens":6}}'
    )
    assert frames[-1][1] == '{"type":"message_stop"}' and "[DONE]" not in answer.text


def test_the_estimate_counts_tools_schemas_as_sent(ollama_mock: MockOllama) -> None:
    spaced = json.dumps(HELLO | {"tools": [WEATHER], "stream": True}, indent=4)
    answer = requests.post(ollama_mock.url + "/v1/messages", data=spaced, timeout=30)
    schema = json.dumps(WEATHER["input_schema"], indent=4).replace("\n", "\n" + " " * 12)
    expected = (len("user") + len("Hello!") + len("get_weather") + len(WEATHER["description"]) + len(schema)) // 4
    start = json.loads(events(answer)[0][1])
    assert start["message"]["usage"] == {"input_tokens": expected, "output_tokens": 0}


def test_a_thinking_model_thinks_first_and_others_ignore_thinking(ollama_mock: MockOllama) -> None:
    asked = HELLO | {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    thought = post(ollama_mock, asked | {"model": "qwen3:8b"}).json()
    assert [block["type"] for block in thought["content"]] == ["thinking", "text"]
    assert "signature" not in thought["content"][0]
    plain = post(ollama_mock, asked)
    assert plain.status_code == 200 and [block["type"] for block in plain.json()["content"]] == ["text"]
    frames = events(post(ollama_mock, asked | {"model": "qwen3:8b", "stream": True}))
    starts = [json.loads(data)["content_block"] for name, data in frames if name == "content_block_start"]
    assert starts == [{"type": "thinking", "thinking": ""}, {"type": "text", "text": ""}]
    stops = [json.loads(data)["index"] for name, data in frames if name == "content_block_stop"]
    assert stops == [0, 1]


def test_a_tool_call_has_ollama_s_id_and_stops_for_tool_use(ollama_mock: MockOllama) -> None:
    body = post(ollama_mock, HELLO | {"tools": [WEATHER]}).json()
    (block,) = body["content"]
    assert block["type"] == "tool_use" and re.fullmatch(r"call_[a-z0-9]{8}", block["id"]), "not toolu_…"
    assert set(block["input"]) == {"city"} and body["stop_reason"] == "tool_use"
    frames = events(post(ollama_mock, HELLO | {"tools": [WEATHER], "stream": True}))
    assert [name for name, _ in frames] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert json.loads(frames[1][1])["content_block"] == {
        "type": "tool_use",
        "id": block["id"],
        "name": "get_weather",
        "input": {},
    }
    assert json.loads(frames[2][1])["delta"] == {
        "type": "input_json_delta",
        "partial_json": json.dumps(block["input"], separators=(",", ":")),
    }
    answered = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [block]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block["id"], "content": "Sunny"}]},
    ]
    after = post(ollama_mock, HELLO | {"tools": [WEATHER], "messages": answered}).json()
    assert [block["type"] for block in after["content"]] == ["text"] and after["stop_reason"] == "end_turn"


def test_max_tokens_and_stop_sequences_end_the_answer(ollama_mock: MockOllama) -> None:
    cut = post(ollama_mock, HELLO | {"max_tokens": 2}).json()
    assert (cut["stop_reason"], cut["usage"]["output_tokens"]) == ("max_tokens", 2)
    stopped = post(ollama_mock, HELLO | {"stop_sequences": ["from"]}).json()
    assert stopped["content"][0]["text"] == "Mock answer " and stopped["stop_reason"] == "end_turn"


def test_nothing_to_answer_is_content_null(ollama_mock: MockOllama) -> None:
    for content in ("", [{"type": "unknown"}]):  # no text, no block Ollama reads: no message at all
        body = post(ollama_mock, HELLO | {"messages": [{"role": "user", "content": content}]}).json()
        assert (body["content"], body["stop_reason"]) == (None, "stop_sequence"), "a load answer: done_reason load"
        assert body["usage"] == {"input_tokens": 0, "output_tokens": 0}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_tokens": None}, "max_tokens is required and must be positive"),
        ({"max_tokens": 0}, "max_tokens is required and must be positive"),
        ({"model": ""}, "model is required"),
        ({"messages": []}, "messages is required"),
        (
            {"max_tokens": "5"},
            "json: cannot unmarshal string into Go struct field MessagesRequest.max_tokens of type int",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "x"}}]}]},
            "invalid image source type: url. Only base64 images are supported.",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "name": "f"}]}]},
            "tool_use block missing required 'id' field",
        ),
    ],
    ids=["no-max-tokens", "zero-max-tokens", "no-model", "no-messages", "wrong-type", "image-url", "tool-use-id"],
)
def test_the_middleware_refuses_in_anthropic_s_shape(ollama_mock: MockOllama, change: Any, message: str) -> None:
    answer = post(ollama_mock, {key: value for key, value in (HELLO | change).items() if value is not None})
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/json; charset=utf-8"
    body = answer.json()
    assert not answer.content.endswith(b"\n") and list(body) == ["type", "error", "request_id"]
    assert body["error"] == {"type": "invalid_request_error", "message": message}
    assert re.fullmatch(r"req_[0-9a-f]{24}", body["request_id"])


def test_the_handler_s_refusals_come_back_through_the_encoder(ollama_mock: MockOllama) -> None:
    missing = post(ollama_mock, HELLO | {"model": "llama9", "stream": True})
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, "application/json")
    assert missing.content.endswith(b"}\n") and missing.json()["error"] == {
        "type": "not_found_error",
        "message": "model 'llama9' not found",
    }
    assert validator_for("openai", "AnthropicErrorBody").problems(missing.json()) == []
    embedding = post(ollama_mock, HELLO | {"model": "nomic-embed-text"})
    assert embedding.json()["error"]["message"] == '"nomic-embed-text" does not support chat'


def test_a_full_queue_is_overloaded(ollama_mock: MockOllama) -> None:
    world = requests.get(ollama_mock.url + "/_mock/world", timeout=10).json()
    world["machine"]["environment"] = {"OLLAMA_MAX_QUEUE": 0}
    ollama_mock.use_world(world | {"running": []})
    answer = post(ollama_mock, HELLO)
    assert answer.status_code == 503 and answer.json()["error"]["type"] == "overloaded_error"


def test_the_anthropic_client_talks_to_the_mock(ollama_mock: MockOllama) -> None:
    import anthropic  # here: importing it takes a second, and only this test needs it

    with anthropic.Anthropic(base_url=ollama_mock.url, api_key="ollama", max_retries=0) as client:
        message = client.messages.create(
            model="qwen3:8b",
            max_tokens=200,
            messages=[{"role": "user", "content": "Hi"}],
            thinking={"type": "enabled", "budget_tokens": 100},
        )
        assert [block.type for block in message.content] == ["thinking", "text"]
        assert message.content[1].text == "Mock answer from qwen3:8b to: Hi"  # type: ignore[union-attr]
        with client.messages.stream(
            model="llama3.2",
            max_tokens=200,
            tools=[WEATHER],  # type: ignore[list-item]
            messages=[{"role": "user", "content": "Weather?"}],
        ) as stream:
            final = stream.get_final_message()
        assert final.stop_reason == "tool_use" and final.content[0].type == "tool_use"
        call = final.content[0]
        assert call.id.startswith("call_") and set(call.input) == {"city"}  # type: ignore[union-attr, arg-type]
        assert final.usage.output_tokens > 0
        with pytest.raises(anthropic.NotFoundError, match="model 'llama9' not found"):
            client.messages.create(model="llama9", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(model="llama3.2", max_tokens=0, messages=[{"role": "user", "content": "Hi"}])


@pytest.mark.parametrize(("release", "served"), [("0.13.3", False), ("0.14.0", True)])
def test_the_route_exists_from_0_14_0(release: str, served: bool) -> None:
    with create_app(MockConfig(ollama_version=release, log_requests=False)).test_client() as http:
        answer = http.post("/v1/messages", json=HELLO)
        assert http.post("/v1/messages/count_tokens", json=HELLO).data == b"404 page not found", "never a route"
    assert answer.status_code == (200 if served else 404)
