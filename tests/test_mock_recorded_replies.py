"""The reply rules a recording is made of: the same request by its fingerprint, the exact pieces and count, and
strict replay, which refuses what the recording did not see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ollama
import openai
import pytest
import requests

from ollama_contract_kit.mock_server import MockConfig, MockOllama
from ollama_contract_kit.mock_server.answers.fingerprint import request_fingerprint
from ollama_contract_kit.mock_server.answers.recorded import NotRecordable, recorded_then
from ollama_contract_kit.mock_server.world.fixtures import FixtureError, read_fixture_file

from .worlds import tiny, world

CHAT = {"model": "smollm2:360m", "messages": [{"role": "user", "content": "Tell me the news"}]}


def _rule(mock: MockOllama, rule: dict[str, Any]) -> None:
    answer = requests.post(mock.url + "/_mock/replies", json=rule, timeout=10)
    assert answer.status_code == 200, answer.text


def _lines(answer: requests.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in answer.text.splitlines()]


def test_the_fingerprint_ignores_how_the_answer_is_delivered_and_the_bodys_spelling() -> None:
    same = request_fingerprint("/api/chat", json.dumps(CHAT).encode())
    assert len(same) == 32 and int(same, 16) >= 0
    respelled = b'{ "messages":[{"content":"Tell me the news","role":"user"}],\n"model":"smollm2:360m" }'
    delivered = json.dumps(CHAT | {"stream": False, "keep_alive": "1h", "stream_options": {"include_usage": True}})
    assert request_fingerprint("/api/chat", respelled) == same
    assert request_fingerprint("/api/chat", delivered.encode()) == same
    assert request_fingerprint("/v1/chat/completions", json.dumps(CHAT).encode()) != same, "another route"
    assert request_fingerprint("/api/chat", json.dumps(CHAT | {"options": {"seed": 1}}).encode()) != same
    assert request_fingerprint("/api/chat", b"not json") != request_fingerprint("/api/chat", b"not JSON")


def test_a_fingerprint_rule_answers_that_request_only(ollama_mock: MockOllama) -> None:
    fingerprint = request_fingerprint("/api/chat", json.dumps(CHAT).encode())
    _rule(ollama_mock, {"when": {"route": "/api/chat", "fingerprint": fingerprint}, "then": {"content": "Recorded."}})
    answer = requests.post(ollama_mock.url + "/api/chat", json=CHAT | {"stream": False}, timeout=30).json()
    assert answer["message"]["content"] == "Recorded."
    other = CHAT | {"messages": [{"role": "user", "content": "Tell me the weather"}], "stream": False}
    answer = requests.post(ollama_mock.url + "/api/chat", json=other, timeout=30).json()
    assert answer["message"]["content"].startswith("Mock answer from smollm2:360m")


def test_explicit_pieces_stream_as_given_each_one_token(ollama_mock: MockOllama) -> None:
    pieces = ["Bre", "aking", ": cats ", "rule"]
    _rule(ollama_mock, {"when": {"contains": "news"}, "then": {"chunks": pieces}})
    chunks = _lines(requests.post(ollama_mock.url + "/api/chat", json=CHAT, timeout=30))
    assert [chunk["message"]["content"] for chunk in chunks[:-1]] == pieces
    assert chunks[-1]["eval_count"] == 4 and chunks[-1]["done_reason"] == "stop"
    cut = CHAT | {"options": {"num_predict": 2}, "stream": False}
    answer = requests.post(ollama_mock.url + "/api/chat", json=cut, timeout=30).json()
    assert (answer["message"]["content"], answer["done_reason"]) == ("Breaking", "length")


def test_the_thinkings_pieces_and_the_servers_count_are_replayed(ollama_mock: MockOllama) -> None:
    then = {"chunks": ["Yes."], "thinking_chunks": ["Hm", "m, ", "yes"], "eval_count": 40, "done_reason": "stop"}
    _rule(ollama_mock, {"when": {"contains": "news"}, "then": then})
    thinking = CHAT | {"model": "qwen3:8b"}
    chunks = _lines(requests.post(ollama_mock.url + "/api/chat", json=thinking, timeout=30))
    assert [chunk["message"].get("thinking") for chunk in chunks[:3]] == ["Hm", "m, ", "yes"]
    assert chunks[-1]["eval_count"] == 40, "the count the server reported, not the pieces"
    cut = thinking | {"options": {"num_predict": 2}, "stream": False}
    answer = requests.post(ollama_mock.url + "/api/chat", json=cut, timeout=30).json()
    assert (answer["eval_count"], answer["done_reason"]) == (2, "length"), "ended sooner: its tokens are counted"


def test_content_that_is_not_the_pieces_joined_is_named(tmp_path: Path) -> None:
    fixture = tmp_path / "world.json"
    rules = [{"then": {"content": "a b"}}, {"then": {"content": "a b", "chunks": ["a", "c"]}}]
    fixture.write_text(json.dumps(world(tiny()) | {"replies": rules}), encoding="utf-8")
    with pytest.raises(FixtureError, match=r"\$\.replies\[1\]\.then\.content: is not the pieces of then\.chunks"):
        read_fixture_file(fixture)
    fixture.write_text(json.dumps(world(tiny()) | {"replies": [{"when": {"fingerprint": "abc"}, "then": {}}]}))
    with pytest.raises(FixtureError, match=r"\$\.replies\[0\]\.when\.fingerprint: 'abc' does not match"):
        read_fixture_file(fixture)


def test_a_strict_world_refuses_what_no_rule_answers_and_says_so(tmp_path: Path) -> None:
    fixture = tmp_path / "world.json"
    rules = [{"when": {"contains": "recorded"}, "then": {"content": "From the recording."}}]
    fixture.write_text(json.dumps(world(tiny()) | {"replies": rules, "strict_replies": True}), encoding="utf-8")
    with MockOllama(MockConfig(fixtures=fixture, log_requests=False)) as mock:
        ask = {"model": "tiny", "prompt": "a recorded question", "stream": False}
        assert requests.post(mock.url + "/api/generate", json=ask, timeout=30).json()["response"] == (
            "From the recording."
        )
        new = json.dumps(ask | {"prompt": "something new"}).encode()
        refused = requests.post(mock.url + "/api/generate", data=new, timeout=30)
        assert refused.status_code == 400
        assert refused.json()["error"].startswith(
            "ollama-mock strict replay: no recorded reply matches this request to /api/generate for model 'tiny' "
            f"(fingerprint {request_fingerprint('/api/generate', new)}); record it with 'ollama-contract proxy "
        )
        load = requests.post(mock.url + "/api/generate", json={"model": "tiny"}, timeout=30)
        assert load.json()["done_reason"] == "load", "a load asks no rule"
        assert requests.get(mock.url + "/_mock/world", timeout=10).json()["strict_replies"] is True
        mock.reset()
        assert requests.post(mock.url + "/api/generate", json=ask | {"prompt": "new"}, timeout=30).status_code == 400


def test_strict_replies_in_the_config_overrides_a_lenient_world(ollama_mock: MockOllama) -> None:
    with MockOllama(MockConfig(log_requests=False, strict_replies=True)) as mock:
        refused = requests.post(mock.url + "/api/chat", json=CHAT, timeout=30)
        assert refused.status_code == 400 and "strict replay" in refused.json()["error"]
    answer = requests.post(ollama_mock.url + "/api/chat", json=CHAT | {"stream": False}, timeout=30)
    assert answer.status_code == 200, "the default mock is lenient"


@pytest.mark.parametrize(
    ("status", "media", "body", "why"),
    [
        (200, "application/json", b'{"model":"m","response":"","done":true,"done_reason":"load"}', "a load"),
        (200, "application/x-ndjson", b'{"message":{"content":"a"}}\n{"error":"runner died"}\n', "not an answer"),
        (200, "application/x-ndjson", b'{"message":{"content":"a"}}\n{"message":', "not JSON"),
        (404, "text/plain", b"404 page not found", "without an error text"),
        (200, "application/json", b'{"message":{"tool_calls":[{"function":{"name":""}}]}}', "a tool call without"),
    ],
)
def test_an_answer_no_rule_can_say_again_is_not_recorded(status: int, media: str, body: bytes, why: str) -> None:
    with pytest.raises(NotRecordable, match=why):
        recorded_then("/api/chat", status, media, body)


def test_a_recorded_answer_keeps_what_each_api_says() -> None:
    completion = {
        "choices": [{"message": {"content": "", "tool_calls": [{"function": {"name": "f", "arguments": '{"a":1}'}}]}}],
        "usage": {"completion_tokens": 7},
    }
    completion["choices"][0]["finish_reason"] = "tool_calls"
    assert recorded_then("/v1/chat/completions", 200, "application/json", json.dumps(completion).encode()) == {
        "tool_calls": [{"name": "f", "arguments": {"a": 1}}],
        "done_reason": "stop",
        "eval_count": 7,
    }
    error = b'{"error":{"message":"model \\"x\\" not found","type":"not_found_error"}}'
    assert recorded_then("/v1/chat/completions", 404, "application/json", error) == {
        "error": {"status": 404, "message": 'model "x" not found'}
    }


def test_strict_replay_refuses_through_the_official_clients_and_none_of_them_retries() -> None:
    with MockOllama(MockConfig(log_requests=False, strict_replies=True)) as mock:
        with ollama.Client(host=mock.url) as native, pytest.raises(ollama.ResponseError) as refused:
            native.chat(model="llama3.2", messages=[{"role": "user", "content": "unrecorded"}])
        assert refused.value.status_code == 400 and "strict replay" in refused.value.error
        with openai.OpenAI(base_url=mock.url + "/v1", api_key="ollama") as client:
            with pytest.raises(openai.BadRequestError, match="no recorded reply matches"):
                client.chat.completions.create(model="llama3.2", messages=[{"role": "user", "content": "unrecorded"}])
            with pytest.raises(openai.BadRequestError, match="no recorded reply matches"):
                client.responses.create(model="llama3.2", input="unrecorded")
        body = {"model": "llama3.2", "max_tokens": 10, "messages": [{"role": "user", "content": "unrecorded"}]}
        messages = requests.post(mock.url + "/v1/messages", json=body, timeout=30)
        assert messages.status_code == 400
        assert messages.json()["error"]["type"] == "invalid_request_error"
        assert "no recorded reply matches" in messages.json()["error"]["message"]
        routes = [entry["path"] for entry in mock.requests(method="POST")]
        assert routes == ["/api/chat", "/v1/chat/completions", "/v1/responses", "/v1/messages"], "each asked once"
