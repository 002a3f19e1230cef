"""A whole app's use of the official `ollama` and `openai` Python clients, unchanged, against the mock.

Each step is checked against what a real Ollama then shows in `/api/ps` and `/api/tags`; both
clients run plain and behind a base path with a bearer token (the openai client's `api_key`).
"""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator
from typing import Any

import jsonschema
import ollama
import openai
import pytest

from ollama_contract_kit.mock_server import MockOllama

TOKEN = "t0k-whole-app"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            # Only what ollama-python's Tool model keeps (it drops minimum, maximum and the like).
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["C", "F"]},
            },
            "required": ["city", "days", "unit"],
        },
    },
}


@pytest.fixture(params=["plain", "behind a prefix and a token"])
def mock(request: pytest.FixtureRequest) -> Iterator[MockOllama]:
    settings: dict[str, Any] = {} if request.param == "plain" else {"base_path": "/ollama", "token": TOKEN}
    with MockOllama(log_requests=False, **settings) as served:
        served.headers = {"Authorization": f"Bearer {TOKEN}"} if settings else {}  # type: ignore[attr-defined]
        yield served


@pytest.fixture
def client(mock: MockOllama) -> Iterator[ollama.Client]:
    with ollama.Client(host=mock.url, headers=mock.headers) as made:  # type: ignore[attr-defined]
        yield made


def _running(client: ollama.Client) -> list[str]:
    return [model.model or "" for model in client.ps().models]


def _installed(client: ollama.Client) -> list[str]:
    return [model.model or "" for model in client.list().models]


def test_show_every_installed_model(client: ollama.Client) -> None:
    for name in _installed(client):
        shown = client.show(name)
        info = shown.modelinfo or {}
        architecture = info["general.architecture"]
        assert isinstance(info[f"{architecture}.context_length"], int), name
        assert isinstance(info[f"{architecture}.embedding_length"], int), name
        assert list(info) == sorted(info), "Go sorts model_info's keys"
        assert shown.capabilities and shown.details and shown.modelfile and shown.modelfile.startswith("# Modelfile")
    with pytest.raises(ollama.ResponseError) as raised:
        client.show("llama9")
    assert (raised.value.status_code, raised.value.error) == (404, "model 'llama9:latest' not found")


def test_embed_loads_the_model_and_answers_unit_vectors(client: ollama.Client) -> None:
    assert "nomic-embed-text:latest" not in _running(client)
    answer = client.embed(model="nomic-embed-text", input=["the sky", "the sea", "the sky"])
    width = client.show("nomic-embed-text").modelinfo["nomic-bert.embedding_length"]  # type: ignore[index]
    first, second, again = answer.embeddings
    assert len(first) == width and first == again and first != second
    assert math.isclose(math.fsum(value * value for value in first), 1.0, rel_tol=1e-5)
    assert "nomic-embed-text:latest" in _running(client), "embedding loads the model as on Ollama"
    legacy = client.embeddings(model="nomic-embed-text", prompt="the sky")
    assert len(legacy.embedding) == width
    with pytest.raises(ollama.ResponseError) as raised:
        client.embed(model="llama3.2", input="x")
    assert raised.value.status_code == 501


def test_pull_with_progress_then_list_copy_create_and_delete(client: ollama.Client) -> None:
    progress = list(client.pull("gemma3:1b", stream=True))
    statuses = [step.status for step in progress]
    assert statuses[0] == "pulling manifest" and statuses[-3:] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    layers = [step for step in progress if step.digest]
    assert layers and all(step.total for step in layers)
    assert all(step.completed == step.total for step in layers if step.completed is not None)
    assert _installed(client)[0] == "gemma3:1b", "a pulled model is the newest"
    assert "gemma3:1b" not in _running(client), "pulling loads nothing"
    with pytest.raises(ollama.ResponseError) as raised:
        client.pull("no-such-model:1b")
    assert (raised.value.status_code, raised.value.error) == (500, "pull model manifest: file does not exist")

    assert client.copy("gemma3:1b", "gemma-copy").status == "success"
    digests = {model.model: model.digest for model in client.list().models}
    assert digests["gemma-copy:latest"] == digests["gemma3:1b"]
    assert client.create(model="pirate", from_="gemma3:1b", system="You are a pirate.").status == "success"
    assert "SYSTEM You are a pirate." in (client.show("pirate").modelfile or "")
    assert client.show("pirate").details.parent_model == "gemma3:1b"  # type: ignore[union-attr]

    client.generate(model="pirate")
    assert "pirate:latest" in _running(client)
    client.generate(model="gemma3:1b")
    running = _running(client)
    assert "pirate:latest" in running and "gemma3:1b" not in running, "same weights, one runner (as Ollama)"
    assert client.delete("pirate").status == "success"
    assert "pirate:latest" not in _installed(client)
    assert "pirate:latest" in _running(client), "Ollama's delete leaves a running model loaded"
    with pytest.raises(ollama.ResponseError) as raised:
        client.delete("pirate")
    assert raised.value.status_code == 404


def test_structured_output_json_and_schema(client: ollama.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 18},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "age"],
    }  # fmt: skip
    import json

    assert isinstance(json.loads(client.generate(model="smollm2:360m", prompt="hi", format="json").response), dict)
    answer = client.chat(model="llama3.2", messages=[{"role": "user", "content": "who?"}], format=schema)
    jsonschema.validate(json.loads(answer.message.content or ""), schema)
    streamed = client.chat(model="llama3.2", messages=[{"role": "user", "content": "who?"}], format=schema, stream=True)
    assert json.loads("".join(part.message.content or "" for part in streamed)) == json.loads(
        answer.message.content or ""
    )


def test_tools_give_tool_calls_and_thinking_models_think(client: ollama.Client) -> None:
    answer = client.chat(
        model="llama3.2", messages=[{"role": "user", "content": "Weather in Tokyo?"}], tools=[WEATHER_TOOL]
    )
    (call,) = answer.message.tool_calls or []
    assert call.function.name == "get_weather"
    jsonschema.validate(dict(call.function.arguments), WEATHER_TOOL["function"]["parameters"])  # type: ignore[index]
    follow_up = client.chat(
        model="llama3.2",
        messages=[{"role": "user", "content": "Weather?"}, answer.message, {"role": "tool", "content": "sunny, 21 °C"}],
        tools=[WEATHER_TOOL],
    )
    assert follow_up.message.content and not follow_up.message.tool_calls
    thinking = client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "why?"}])
    assert thinking.message.thinking and thinking.message.content, "thinking models think when think is omitted"
    assert client.generate(model="qwen3:8b", prompt="why?", think=False).thinking is None


def test_capability_errors(client: ollama.Client) -> None:
    for call, status, error in [
        (lambda: client.chat(model="smollm2:360m", messages=[{"role": "user", "content": "x"}], tools=[WEATHER_TOOL]),
         400, "registry.ollama.ai/library/smollm2:360m does not support tools"),
        (lambda: client.generate(model="smollm2:360m", prompt="x", think=True), 400,
         '"smollm2:360m" does not support thinking'),
        (lambda: client.generate(model="nomic-embed-text", prompt="x"), 400,
         '"nomic-embed-text" does not support generate'),
        (lambda: client.generate(model="smollm2:360m", prompt="x", suffix="y"), 400,
         "registry.ollama.ai/library/smollm2:360m does not support insert"),
    ]:  # fmt: skip
        with pytest.raises(ollama.ResponseError) as raised:
            call()
        assert (raised.value.status_code, raised.value.error) == (status, error)
    seen = client.generate(model="llava:7b", prompt="what is this?", images=[base64.b64encode(b"\x89PNG").decode()])
    assert "1 image" in seen.response


@pytest.fixture
def openai_client(mock: MockOllama) -> openai.OpenAI:
    return openai.OpenAI(base_url=mock.url + "/v1", api_key=TOKEN, max_retries=0)


def test_openai_models_chat_completions_and_embeddings(openai_client: openai.OpenAI, client: ollama.Client) -> None:
    assert [model.id for model in openai_client.models.list()] == _installed(client)
    assert openai_client.models.retrieve("llama3.2").id == "llama3.2"
    answer = openai_client.chat.completions.create(
        model="smollm2:360m", messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.choices[0].message.content == "Mock answer from smollm2:360m to: hello"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    assert "smollm2:360m" in _running(client), "a /v1 request loads the model"

    chunks = list(
        openai_client.chat.completions.create(
            model="qwen3:8b", messages=[{"role": "user", "content": "hi"}], stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "Mock answer from qwen3:8b to: hi"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"

    called = openai_client.chat.completions.create(
        model="llama3.2",
        messages=[{"role": "user", "content": "weather?"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert called.choices[0].finish_reason == "tool_calls"
    assert called.choices[0].message.tool_calls and called.choices[0].message.tool_calls[0].type == "function"
    structured = openai_client.chat.completions.create(
        model="llama3.2", messages=[{"role": "user", "content": "x"}], response_format={"type": "json_object"}
    )
    import json

    assert isinstance(json.loads(structured.choices[0].message.content or ""), dict)
    assert (
        openai_client.completions.create(model="smollm2:360m", prompt="Say").choices[0].text.startswith("Mock answer")
    )

    floats = openai_client.embeddings.create(model="nomic-embed-text", input=["a", "b"])
    assert len(floats.data) == 2 and len(floats.data[0].embedding) == 768
    packed = openai_client.embeddings.create(model="nomic-embed-text", input="a", encoding_format="base64")
    (first,) = struct.unpack("<f", base64.b64decode(str(packed.data[0].embedding))[:4])
    assert math.isclose(first, floats.data[0].embedding[0], rel_tol=1e-6), "little-endian float32 in base64"

    with pytest.raises(openai.NotFoundError) as missing:
        openai_client.chat.completions.create(model="llama9", messages=[{"role": "user", "content": "x"}])
    assert missing.value.body == {
        "message": "model 'llama9' not found",
        "type": "not_found_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="llama3.2", messages=[])
