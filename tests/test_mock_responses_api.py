"""`POST /v1/responses` as Ollama 0.33 serves it: through the official `openai` client and byte by byte
(the whole answer a struct in field order; each streamed event a map, keys sorted, no `[DONE]`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from openai import BadRequestError, NotFoundError, OpenAI
from pydantic import BaseModel

from ollama_contract_kit.mock_server import MockConfig, MockOllama, create_app
from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.timestamps import GoTime

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}},
}
#: `ResponsesResponse`'s fields in Go's order (openai/responses.go@fb3076099 L815-846).
STRUCT_ORDER = [
    "id",
    "object",
    "created_at",
    "completed_at",
    "status",
    "incomplete_details",
    "model",
    "previous_response_id",
    "instructions",
    "output",
    "error",
    "tools",
    "tool_choice",
    "truncation",
    "parallel_tool_calls",
    "text",
    "top_p",
    "presence_penalty",
    "frequency_penalty",
    "top_logprobs",
    "temperature",
    "reasoning",
    "usage",
    "max_output_tokens",
    "max_tool_calls",
    "store",
    "background",
    "service_tier",
    "metadata",
    "safety_identifier",
    "prompt_cache_key",
]


@pytest.fixture
def client(ollama_mock: MockOllama) -> Iterator[OpenAI]:
    with OpenAI(base_url=ollama_mock.url + "/v1", api_key="ollama", max_retries=0) as compatible:
        yield compatible


def post(mock: MockOllama, body: dict[str, Any]) -> requests.Response:
    return requests.post(mock.url + "/v1/responses", json=body, timeout=30)


def events(answer: requests.Response) -> list[tuple[str, str]]:
    """(event name, raw data line) of each frame of an SSE answer."""
    frames = answer.content.decode().split("\n\n")
    assert frames[-1] == "", "every frame ends with a blank line"
    found = []
    for frame in frames[:-1]:
        name, data = frame.split("\n")
        found.append((name.removeprefix("event: "), data.removeprefix("data: ")))
    return found


def test_a_response_through_the_openai_client_loads_the_model_for_the_default_keep_alive(
    client: OpenAI, ollama_mock: MockOllama
) -> None:
    ollama_mock.freeze()
    response = client.responses.create(model="smollm2:360m", input="Why is the sky blue?", instructions="Be brief.")
    assert response.output_text == "Mock answer from smollm2:360m to: Why is the sky blue?"
    assert re.fullmatch(r"resp_\d+", response.id) and re.fullmatch(r"msg_\d+", response.output[0].id)
    assert response.status == "completed" and response.instructions == "Be brief."
    assert response.usage is not None and response.usage.output_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    listed = {model["name"]: model for model in ollama_mock.running()}
    expires = GoTime.parse(listed["smollm2:360m"]["expires_at"]).seconds_since(GoTime.parse(ollama_mock.now()))
    assert 299 < expires <= 300, "a /v1 request cannot set keep_alive: the server's 5 minutes"


def test_the_whole_answer_is_go_s_struct_written_by_the_encoder(ollama_mock: MockOllama) -> None:
    answer = post(ollama_mock, {"model": "llama3.2", "input": "Hi", "temperature": 0.5, "top_p": 1.0})
    assert answer.headers["Content-Type"] == "application/json" and answer.content.endswith(b"}\n")
    body = answer.json()
    assert list(body) == STRUCT_ORDER
    assert validator_for("openai", "Response").problems(body) == []
    assert b'"temperature":0.5' in answer.content and b'"top_p":1,' in answer.content, "float64 as Go writes it"
    assert body["output"][0] == {
        "id": body["output"][0]["id"],
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [
            {"type": "output_text", "text": body["output"][0]["content"][0]["text"], "annotations": [], "logprobs": []}
        ],
    }
    assert (body["tool_choice"], body["truncation"], body["service_tier"], body["metadata"]) == (
        "auto",
        "disabled",
        "default",
        {},
    )


def test_a_streamed_response_parses_in_the_openai_client(client: OpenAI) -> None:
    stream = client.responses.create(model="qwen3:8b", input="Why is the sky blue?", stream=True)
    received = list(stream)
    kinds = [event.type for event in received]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    assert [event.sequence_number for event in received] == list(range(len(received)))
    thinking = "".join(e.delta for e in received if e.type == "response.reasoning_summary_text.delta")
    text = "".join(e.delta for e in received if e.type == "response.output_text.delta")
    assert thinking.startswith("The user wrote:") and text == "Mock answer from qwen3:8b to: Why is the sky blue?"
    final = received[-1].response  # type: ignore[union-attr]
    assert [item.type for item in final.output] == ["reasoning", "message"], "the reasoning item comes first"
    assert final.output_text == text and final.usage is not None and final.usage.output_tokens > 0


def test_stream_frames_are_maps_with_sorted_keys_and_no_done(ollama_mock: MockOllama) -> None:
    answer = post(ollama_mock, {"model": "llama3.2", "input": "Hi there", "stream": True})
    assert answer.headers["Content-Type"] == "text/event-stream" and answer.headers["Cache-Control"] == "no-cache"
    frames = events(answer)
    assert [name for name, _ in frames] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 7,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "[DONE]" not in answer.text
    item = json.loads(frames[2][1])["item"]["id"]
    assert frames[4][1] == (
        '{"content_index":0,"delta":"Mock ","item_id":"' + item + '","logprobs":[],"output_index":0,'
        '"sequence_number":4,"type":"response.output_text.delta"}'
    )
    assert frames[3][1] == (
        '{"content_index":0,"item_id":"' + item + '","output_index":0,"part":{"annotations":[],"logprobs":[],'
        '"text":"","type":"output_text"},"sequence_number":3,"type":"response.content_part.added"}'
    )
    for _, data in frames:
        decoded = json.loads(data)
        assert list(decoded) == sorted(decoded), "Go writes a map's keys sorted"
    completed = json.loads(frames[-1][1])["response"]
    assert list(completed) == sorted(STRUCT_ORDER) and completed["completed_at"] is not None
    assert list(completed["usage"]) == sorted(completed["usage"])


def test_a_tool_call_then_its_result(client: OpenAI) -> None:
    first = client.responses.create(model="llama3.2", input="Weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    call = first.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert re.fullmatch(r"call_[a-z0-9]{8}", call.call_id) and call.id == f"fc_{first.id}_0"
    assert "city" in json.loads(call.arguments)
    assert first.tools[0].parameters == {
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "type": "object",
    }
    follow_up = [
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 24 °C"},
    ]
    second = client.responses.create(model="llama3.2", input=follow_up, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    assert second.output[0].type == "message" and second.output_text.startswith("Mock answer from llama3.2")


def test_a_streamed_tool_call_is_one_arguments_delta(ollama_mock: MockOllama) -> None:
    frames = events(post(ollama_mock, {"model": "llama3.2", "input": "Weather?", "tools": [WEATHER], "stream": True}))
    names = [name for name, _ in frames]
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added = json.loads(frames[2][1])["item"]
    assert re.fullmatch(r"fc_\d+_0", added["id"]) and (added["status"], added["arguments"]) == ("in_progress", "")
    tools = json.loads(frames[0][1])["response"]["tools"]
    assert list(tools[0]) == ["description", "name", "parameters", "strict", "type"] and tools[0]["strict"] is None


class City(BaseModel):
    name: str
    population: int


def test_structured_output_through_text_format(client: OpenAI) -> None:
    parsed = client.responses.parse(model="llama3.2", input="A big city?", text_format=City)
    assert isinstance(parsed.output_parsed, City)
    assert parsed.text.format.type == "json_schema"  # type: ignore[union-attr]


def test_max_output_tokens_cuts_the_answer_but_it_stays_completed(ollama_mock: MockOllama) -> None:
    body = post(ollama_mock, {"model": "llama3.2", "input": "one two three four", "max_output_tokens": 2}).json()
    assert body["status"] == "completed" and body["usage"]["output_tokens"] == 2
    assert body["output"][0]["content"][0]["text"] == "Mock answer " and body["max_output_tokens"] == 2


def test_nothing_to_answer_only_loads_the_model(ollama_mock: MockOllama) -> None:
    body = post(ollama_mock, {"model": "smollm2:360m", "input": ""}).json()
    assert body["output"][0]["content"][0]["text"] == "" and body["usage"]["total_tokens"] == 0
    assert "smollm2:360m" in [model["name"] for model in ollama_mock.running()]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"model": "qwen3:8b", "input": 5},
            "input must be a string or array: json: cannot unmarshal number into Go value of type []json.RawMessage",
        ),
        ({"model": "qwen3:8b", "input": [{"type": "bogus"}]}, 'input[0]: unknown input item type: "bogus"'),
        ({"model": "qwen3:8b", "input": [{"content": "x"}]}, "input[0]: input item missing required 'type' field"),
        (
            {
                "model": "qwen3:8b",
                "input": [
                    {"role": "user", "content": [{"type": "input_image", "image_url": "https://example.com/a.png"}]}
                ],
            },
            "image URLs are not currently supported, please use base64 encoded data instead",
        ),
        (
            {"model": "qwen3:8b", "input": "x", "reasoning": {"effort": "huge"}},
            'invalid reasoning value: "huge" (must '
            'be "minimal", "low", "medium", "high", "xhigh", "ultra", "max", or "none")',
        ),
        (
            {"model": "qwen3:8b", "input": "x", "max_output_tokens": "5"},
            "json: cannot unmarshal string into Go struct field ResponsesRequest.max_output_tokens of type int",
        ),
    ],
    ids=["input-number", "unknown-item", "no-type", "image-url", "effort", "wrong-type"],
)
def test_the_middleware_refuses_with_gin_s_framing(ollama_mock: MockOllama, body: Any, message: str) -> None:
    answer = post(ollama_mock, body)
    assert answer.status_code == 400 and answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert (
        answer.content
        == json.dumps(
            {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )


def test_the_handler_s_refusals_come_back_through_the_encoder(ollama_mock: MockOllama) -> None:
    missing = post(ollama_mock, {"model": "llama9", "input": "x", "stream": True})
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, "application/json")
    assert missing.content == (
        b'{"error":{"message":"model \'llama9\' not found","type":"not_found_error","param":null,"code":null}}\n'
    )
    assert missing.headers["Cache-Control"] == "no-cache", "the middleware set it before the handler refused"
    thinking = post(ollama_mock, {"model": "llama3.2", "input": "x", "reasoning": {"effort": "high"}})
    assert thinking.status_code == 400 and thinking.json()["error"]["message"] == '"llama3.2" does not support thinking'
    tools = post(ollama_mock, {"model": "smollm2:360m", "input": "x", "tools": [WEATHER]})
    assert tools.json()["error"]["message"] == "registry.ollama.ai/library/smollm2:360m does not support tools"


def test_the_openai_client_raises_ollama_s_errors(client: OpenAI) -> None:
    with pytest.raises(NotFoundError, match="model 'llama9' not found"):
        client.responses.create(model="llama9", input="x")
    with pytest.raises(BadRequestError, match="does not support thinking"):
        client.responses.create(model="llama3.2", input="x", reasoning={"effort": "low"})


def test_a_full_queue_is_503_in_openai_s_shape(ollama_mock: MockOllama) -> None:
    world = requests.get(ollama_mock.url + "/_mock/world", timeout=10).json()
    world["machine"]["environment"] = {"OLLAMA_MAX_QUEUE": 0}
    ollama_mock.use_world(world | {"running": []})
    answer = post(ollama_mock, {"model": "llama3.2", "input": "x"})
    assert answer.status_code == 503
    assert answer.json()["error"] == {
        "message": "server busy, please try again.  maximum pending requests exceeded",
        "type": "api_error",
        "param": None,
        "code": None,
    }


@pytest.mark.parametrize(("release", "served"), [("0.13.2", False), ("0.13.3", True)])
def test_the_route_exists_from_0_13_3(release: str, served: bool) -> None:
    with create_app(MockConfig(ollama_version=release, log_requests=False)).test_client() as http:
        answer = http.post("/v1/responses", json={"model": "llama3.2", "input": "x"})
    assert answer.status_code == (200 if served else 404)
    assert served or answer.data == b"404 page not found"


def test_the_built_in_web_search_fails_as_with_the_cloud_off(ollama_mock: MockOllama) -> None:
    asked = {"model": "qwen3:8b", "input": "News today?", "tools": [{"type": "web_search"}]}
    answer = post(ollama_mock, asked)
    assert (answer.status_code, answer.headers["Content-Type"]) == (403, "application/json")
    assert answer.content == (b'{"error":{"message":"ollama cloud is disabled: web search is unavailable",'
                              b'"type":"api_error","param":null,"code":null}}\n')  # fmt: skip
    frames = events(post(ollama_mock, asked | {"stream": True}))
    names = [name for name, _ in frames]
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert names[-6:] == ["response.reasoning_summary_text.done", "response.output_item.done",
                          "response.output_item.added", "response.web_search_call.in_progress",
                          "response.web_search_call.searching", "response.failed"]  # fmt: skip
    search = json.loads(frames[-4][1])
    assert search["output_index"] == 1 and search["item"]["type"] == "web_search_call"
    assert re.fullmatch(r"ws_\d+_1", search["item"]["id"]) and search["item"]["action"]["type"] == "search"
    failed = json.loads(frames[-1][1])["response"]
    assert list(failed) == ["error", "id", "model", "object", "output", "status", "usage"]
    assert failed["error"] == {"code": "api_error", "message": "ollama cloud is disabled: web search is unavailable"}
    assert failed["status"] == "failed" and failed["usage"]["output_tokens"] > 0
