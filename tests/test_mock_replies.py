"""Scripted replies say what the model says, through every API flavour; the journal says what the app sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ollama
import openai
import pydantic
import pytest
import requests

from ollama_contract_kit.mock_server import MockConfig, MockOllama
from ollama_contract_kit.mock_server.answers.replies import ReplyError
from ollama_contract_kit.mock_server.world.fixtures import FixtureError, read_fixture_file

from .worlds import WEATHER_TOOL, tiny, world


def _weather_script(mock: MockOllama) -> None:
    mock.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}], contains="weather", times=1)
    mock.reply("It is sunny in Paris, 24 °C.", after_tool=True, times=1)


def test_a_two_step_tool_conversation_through_the_official_ollama_client(ollama_mock: MockOllama) -> None:
    _weather_script(ollama_mock)
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    with ollama.Client(host=ollama_mock.url) as client:
        first = client.chat(model="llama3.2", messages=messages, tools=[WEATHER_TOOL])
        calls = first.message.tool_calls or []
        assert [(call.function.name, dict(call.function.arguments)) for call in calls] == [
            ("get_weather", {"city": "Paris"})
        ]
        messages += [first.message, {"role": "tool", "content": "sunny, 24", "tool_name": "get_weather"}]
        second = client.chat(model="llama3.2", messages=messages, tools=[WEATHER_TOOL], stream=True)
        text = "".join(chunk.message.content for chunk in second)
    assert text == "It is sunny in Paris, 24 °C."
    assert ollama_mock.state.replies.listed() == [], "both rules were used once"
    assert "llama3.2:latest" in [model["name"] for model in ollama_mock.running()], "the model loaded, as usual"


def test_the_same_rules_answer_through_the_openai_client(ollama_mock: MockOllama) -> None:
    _weather_script(ollama_mock)
    with openai.OpenAI(base_url=ollama_mock.url + "/v1", api_key="ollama") as client:
        asked: list[Any] = [{"role": "user", "content": "weather in Paris?"}]
        first = client.chat.completions.create(model="llama3.2", messages=asked, tools=[WEATHER_TOOL])  # type: ignore[list-item]
        call = (first.choices[0].message.tool_calls or [])[0]
        assert first.choices[0].finish_reason == "tool_calls"
        assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})  # type: ignore[union-attr]
        asked += [first.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
        stream = client.chat.completions.create(model="llama3.2", messages=asked, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "It is sunny in Paris, 24 °C."


def test_a_rule_with_times_is_used_up_then_the_default_answers(ollama_mock: MockOllama) -> None:
    ollama_mock.reply("Scripted.", model="smollm2:360m", times=1)
    body = {"model": "smollm2:360m", "prompt": "hello", "stream": False}
    first = requests.post(ollama_mock.url + "/api/generate", json=body, timeout=30).json()
    second = requests.post(ollama_mock.url + "/api/generate", json=body, timeout=30).json()
    assert first["response"] == "Scripted." and second["response"].startswith("Mock answer from smollm2:360m")


def test_a_scripted_reply_still_obeys_num_predict_and_streams_in_its_chunks(ollama_mock: MockOllama) -> None:
    ollama_mock.reply("one two three four five six", chunks=2)
    body = {"model": "smollm2:360m", "prompt": "count", "options": {"num_predict": 4}}
    lines = requests.post(ollama_mock.url + "/api/generate", json=body, timeout=30).text.splitlines()
    chunks = [json.loads(line) for line in lines]
    assert [chunk["response"] for chunk in chunks[:-1]] == ["one two three "], "the second would pass 4 tokens"
    assert chunks[-1]["done_reason"] == "length"


def test_a_scripted_error_is_each_apis_error_after_the_load(ollama_mock: MockOllama) -> None:
    ollama_mock.reply(error=(503, "server busy, please try again.  maximum pending requests exceeded"), route="chat")
    native = requests.post(
        ollama_mock.url + "/api/chat", json={"model": "smollm2:360m", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert (native.status_code, native.json()) == (
        503,
        {"error": "server busy, please try again.  maximum pending requests exceeded"},
    )
    compatible = requests.post(
        ollama_mock.url + "/v1/chat/completions",
        json={"model": "smollm2:360m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert compatible.status_code == 503 and compatible.json()["error"]["type"] == "api_error"
    generate = requests.post(ollama_mock.url + "/api/generate", json={"model": "smollm2:360m", "prompt": "hi"})
    assert generate.status_code == 200, "a chat rule does not answer generate"


def test_rules_from_the_control_api_listed_and_cleared(ollama_mock: MockOllama) -> None:
    rule = {"when": {"route": "/api/generate", "matches": "^say (\\w+)$"}, "then": {"content": "said"}, "times": 2}
    listed = requests.post(ollama_mock.url + "/_mock/replies", json=rule, timeout=10).json()
    assert listed == {"replies": [rule]}
    answer = requests.post(
        ollama_mock.url + "/api/generate", json={"model": "smollm2:360m", "prompt": "say hello", "stream": False}
    ).json()
    assert answer["response"] == "said"
    assert requests.get(ollama_mock.url + "/_mock/replies").json()["replies"][0]["times"] == 1
    assert requests.delete(ollama_mock.url + "/_mock/replies").json() == {"replies": []}
    refused = requests.post(ollama_mock.url + "/_mock/replies", json={"when": {"matches": "("}, "then": {}})
    assert (
        refused.status_code == 400 and "request body.when.matches: not a regular expression" in refused.json()["error"]
    )


def test_rules_from_a_fixture_file_come_back_on_reset(tmp_path: Path) -> None:
    fixture = tmp_path / "world.json"
    rules = [{"when": {"model": "tiny"}, "then": {"content": "From the file."}, "times": 1}]
    fixture.write_text(json.dumps(world(tiny()) | {"replies": rules}), encoding="utf-8")
    with MockOllama(MockConfig(fixtures=fixture, log_requests=False)) as mock:
        for _ in range(2):
            answer = requests.post(mock.url + "/api/generate", json={"model": "tiny", "prompt": "x", "stream": False})
            assert answer.json()["response"] == "From the file."
            mock.reset()


def test_a_bad_rule_in_a_fixture_names_its_path(tmp_path: Path) -> None:
    fixture = tmp_path / "world.yaml"
    fixture.write_text(
        "models: []\nreplies:\n  - then: {content: ok}\n  - when: {model: 'Bad Name!'}\n    then: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(FixtureError, match=r"\$\.replies\[1\]\.when\.model"):
        read_fixture_file(fixture)


def test_a_bad_argument_to_reply_is_named(ollama_mock: MockOllama) -> None:
    with pytest.raises(ReplyError, match="reply.when: Additional properties"):
        ollama_mock.reply("x", colour="blue")


def test_the_journal_says_what_the_app_sent(ollama_mock: MockOllama) -> None:
    body = {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hi"}],
        "options": {"num_ctx": 8192},
        "tools": [WEATHER_TOOL],
        "stream": False,
    }
    requests.post(ollama_mock.url + "/api/chat", json=body, headers={"Authorization": "Bearer s3cret"}, timeout=30)
    requests.get(ollama_mock.url + "/api/ps", timeout=10)
    sent = ollama_mock.requests(route="chat", model="llama3.2:latest")
    assert len(sent) == 1 and sent[0]["json"]["options"]["num_ctx"] == 8192
    assert [tool["function"]["name"] for tool in sent[0]["json"]["tools"]] == ["get_weather"]
    assert sent[0]["headers"]["Authorization"] == "Bearer ***"
    assert ollama_mock.requests[-1]["route"] == "/api/ps", "still a list"
    filtered = requests.get(ollama_mock.url + "/_mock/requests", params={"route": "chat", "status": 200}).json()
    assert [entry["model"] for entry in filtered["requests"]] == ["llama3.2"]
    bad = requests.get(ollama_mock.url + "/_mock/requests", params={"status": "ok"})
    assert bad.status_code == 400 and "status: expected a whole number" in bad.json()["error"]


class Person(pydantic.BaseModel):
    """What a JSON-mode library asks for."""

    name: str
    age: int
    email: str


def test_json_mode_answers_the_schema_the_prompt_carries(ollama_mock: MockOllama) -> None:
    instructions = (
        "The output should be formatted as a JSON instance that conforms to the JSON schema below.\n"
        f"Here is the output schema:\n```\n{json.dumps(Person.model_json_schema())}\n```"
    )
    body = {
        "model": "llama3.2",
        "messages": [{"role": "system", "content": instructions}, {"role": "user", "content": "Alice, 30"}],
        "format": "json",
        "stream": False,
    }
    answer = requests.post(ollama_mock.url + "/api/chat", json=body, timeout=30).json()
    Person.model_validate_json(answer["message"]["content"])


def test_a_schema_asked_for_in_the_prompt_alone_is_answered_as_json(ollama_mock: MockOllama) -> None:
    # Prompted structured output (instructor's MD_JSON, pydantic-ai's PromptedOutput): no format, no tools.
    instructions = (
        "Extract the person. Answer with JSON that matches this json_schema:\n"
        f"{json.dumps(Person.model_json_schema(), indent=2)}\nReturn an instance of the JSON, not the schema itself."
    )
    with openai.OpenAI(base_url=ollama_mock.url + "/v1", api_key="ollama") as client:
        answer = client.chat.completions.create(
            model="llama3.2",
            messages=[{"role": "system", "content": instructions}, {"role": "user", "content": "Alice is 30"}],
        )
    Person.model_validate_json(answer.choices[0].message.content or "")
    plain = requests.post(
        ollama_mock.url + "/api/generate",
        json={"model": "llama3.2", "prompt": "Alice is 30", "stream": False},
        timeout=30,
    ).json()
    assert plain["response"].startswith("Mock answer from llama3.2"), "no schema: the sentence, as before"


def test_data_that_merely_has_properties_is_no_schema(ollama_mock: MockOllama) -> None:
    geojson = {"type": "Feature", "properties": {"temperature": 21, "city": "Paris"}, "geometry": None}
    messages = [
        {"role": "user", "content": "What is the weather in Paris? Answer briefly."},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {}}}]},
        {"role": "tool", "content": json.dumps(geojson), "tool_name": "get_weather"},
    ]
    body = {"model": "llama3.2", "messages": messages, "tools": [WEATHER_TOOL], "stream": False}
    answer = requests.post(ollama_mock.url + "/api/chat", json=body, timeout=30).json()
    assert answer["message"]["content"].startswith("Mock answer from llama3.2"), answer["message"]


def test_the_pytest_handle_scripts_the_pieces_a_stream_is_sent_in(ollama_mock: MockOllama) -> None:
    ollama_mock.reply(chunks=["It is ", "sunny ", "in Paris."], thinking_chunks=["Weather? ", "Sun."], model="qwen3:8b")
    with ollama.Client(host=ollama_mock.url) as client:
        parts = list(client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "weather?"}], stream=True))
    assert [part.message.thinking for part in parts if part.message.thinking] == ["Weather? ", "Sun."]
    assert [part.message.content for part in parts if part.message.content] == ["It is ", "sunny ", "in Paris."]
    assert parts[-1].done_reason == "stop" and parts[-1].eval_count == 5, "each piece one token, thinking too"


def test_after_a_tool_result_the_one_tool_left_is_called(ollama_mock: MockOllama) -> None:
    output_tool = {
        "type": "function",
        "function": {
            "name": "final_result",
            "parameters": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]},
        },
    }
    messages: list[dict[str, Any]] = [{"role": "user", "content": "weather?"}]
    tools = [WEATHER_TOOL, output_tool]

    def turn() -> dict[str, Any]:
        body = {"model": "llama3.2", "messages": messages, "tools": tools, "stream": False}
        answer: dict[str, Any] = requests.post(ollama_mock.url + "/api/chat", json=body, timeout=30).json()
        return answer

    first = turn()
    assert first["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    messages += [first["message"], {"role": "tool", "content": "sunny", "tool_name": "get_weather"}]
    second = turn()
    assert second["message"]["tool_calls"][0]["function"]["name"] == "final_result"
    assert second["message"]["tool_calls"][0]["function"]["arguments"] == {"answer": "mock answer"}
    messages += [second["message"], {"role": "tool", "content": "done", "tool_name": "final_result"}]
    third = turn()
    assert "tool_calls" not in third["message"] and third["message"]["content"], "nothing left to call: words"


def test_one_rule_answers_every_chat_flavour_in_its_own_format(ollama_mock: MockOllama) -> None:
    ollama_mock.reply("Bonjour.", contains="greet me")
    asked = [{"role": "user", "content": "please greet me"}]
    url = ollama_mock.url
    native = requests.post(url + "/api/chat", json={"model": "llama3.2", "messages": asked, "stream": False}).json()
    compatible = requests.post(url + "/v1/chat/completions", json={"model": "llama3.2", "messages": asked}).json()
    responses = requests.post(url + "/v1/responses", json={"model": "llama3.2", "input": "please greet me"}).json()
    messages = requests.post(
        url + "/v1/messages", json={"model": "llama3.2", "messages": asked, "max_tokens": 64}
    ).json()
    assert native["message"]["content"] == "Bonjour."
    assert compatible["choices"][0]["message"]["content"] == "Bonjour."
    assert responses["output"][0]["content"][0]["text"] == "Bonjour."
    assert messages["content"][0]["text"] == "Bonjour."
    assert [entry["route"] for entry in ollama_mock.requests(route="chat")] == [
        "/api/chat", "/v1/chat/completions", "/v1/responses", "/v1/messages"
    ]  # fmt: skip
