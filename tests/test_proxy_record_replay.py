"""Record and replay: `ollama-contract proxy --record` in front of a server, then the mock serving the recording
answers the same requests as the server did, byte for byte but for times and durations, offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from ollama_contract_kit.contract_tests.captures import Answer, Request, read_captures, replay
from ollama_contract_kit.contract_tests.differential import compare
from ollama_contract_kit.contract_tests.volatility import Judge, Volatility
from ollama_contract_kit.mock_server import MockOllama, read_fixture_file

from .conftest import REAL_OLLAMA
from .proxied import RawUpstream, http_answer, proxy_to
from .served import serve_mock

#: The upstream's credential (the proxy adds it), and the app's own (the proxy replaces it).
UPSTREAM_TOKEN = "upstream-secret-7f3a9c"
APP_TOKEN = "app-secret-42b8e1"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _post(path: str, **body: Any) -> Request:
    return Request("POST", path, json.dumps(body).encode())


def _chat(model: str, text: str, **extra: Any) -> Request:
    return _post("/api/chat", model=model, messages=[{"role": "user", "content": text}], **extra)


#: What the app asks, by name: default answers and scripted ones, streamed and whole, every generating API.
TRAFFIC = {
    "generate streamed": _post("/api/generate", model="llama3.2", prompt="Tell me a story about a fox"),
    "generate whole, num_predict": _post(
        "/api/generate", model="smollm2:360m", prompt="count to ten please", stream=False, options={"num_predict": 3}
    ),
    "chat thinking streamed": _chat("qwen3:8b", "Why is the sky blue?"),
    "chat thinking cut by num_predict": _chat("qwen3:8b", "Explain rainbows", options={"num_predict": 5}),
    "chat tool call whole": _chat("llama3.2", "weather in Paris?", tools=[WEATHER_TOOL], stream=False),
    "chat json streamed": _chat("llama3.2", "list three colours", format="json"),
    "chat stop text": _chat("llama3.2", "What is the sky?", options={"stop": ["the sky"]}, stream=False),
    "chat scripted chunks": _chat("llama3.2", "a scripted line please"),
    "chat scripted tool calls": _chat("qwen3:8b", "plan my trip", tools=[WEATHER_TOOL], think=False),
    "chat scripted error": _chat("llama3.2", "overload now", stream=False),
    "v1 chat streamed": _post(
        "/v1/chat/completions",
        model="llama3.2",
        messages=[{"role": "user", "content": "hello there"}],
        stream=True,
        stream_options={"include_usage": True},
    ),
    "v1 chat tool call whole": _post(
        "/v1/chat/completions", model="llama3.2", messages=[{"role": "user", "content": "Paris?"}], tools=[WEATHER_TOOL]
    ),
    "v1 chat reasoning, max_tokens": _post(
        "/v1/chat/completions",
        model="qwen3:8b",
        messages=[{"role": "user", "content": "think first"}],
        max_tokens=4,
        stream=True,
    ),
    "v1 completion streamed": _post("/v1/completions", model="codellama:7b", prompt="def add(a, b):", stream=True),
    "v1 completion whole": _post("/v1/completions", model="codellama:7b", prompt="def sub(a, b):", max_tokens=2),
}
#: Asked twice; the server answered differently each time, and the replay does so in the same order.
ASKED_TWICE = _chat("llama3.2", "again please", stream=False)
#: What differs between two runs of the same request: times, durations, and the /v1 layer's random ids.
TIMES_AND_DURATIONS = Volatility(
    {
        "$.created_at": Judge.TIMESTAMP,
        "$.created": Judge.UNIX,
        "$.id": Judge.ID,
        "$.total_duration": Judge.DURATION,
        "$.load_duration": Judge.DURATION,
        "$.prompt_eval_duration": Judge.DURATION,
        "$.eval_duration": Judge.DURATION,
        "$.models[*].expires_at": Judge.TIMESTAMP,
    }
)


def _script(upstream: MockOllama) -> None:
    """The "real server" says things the replaying mock's default answerer never would."""
    upstream.reply("Arr, this line was scripted upstream, in three chunks.", contains="scripted line", chunks=3)
    calls = [
        {"name": "get_weather", "arguments": {"city": "Oslo"}},
        {"name": "get_weather", "arguments": {"city": "Rome"}},
    ]
    upstream.reply(tool_calls=calls, contains="plan my trip")
    upstream.reply(error=(500, "llama runner process has terminated: exit status 2"), contains="overload")
    upstream.reply("The first answer.", contains="again please", times=1)
    upstream.reply("The second answer.", contains="again please")


@dataclass
class Recording:
    """What the app saw through the recording proxy, the file the proxy wrote, and what the proxy printed."""

    seen: dict[str, Answer]
    asked_twice: list[Answer]
    ps: Answer
    file: Path
    output: str


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    file = tmp_path_factory.mktemp("recorded") / "recorded.yaml"
    with MockOllama(log_requests=False, token=UPSTREAM_TOKEN) as upstream:
        upstream.freeze()  # nothing waits: every answer at once
        _script(upstream)
        headers = json.dumps({"Authorization": f"Bearer {UPSTREAM_TOKEN}"})
        with proxy_to(upstream.url, "--record", str(file), "--headers", headers) as proxy:
            seen = {name: replay(request, proxy.url) for name, request in TRAFFIC.items()}
            asked_twice = [replay(ASKED_TWICE, proxy.url) for _ in range(2)]
            echoed = {"model": "llama3.2", "prompt": f"repeat {APP_TOKEN} and {UPSTREAM_TOKEN}", "stream": False}
            secret = requests.post(
                proxy.url + "/api/generate", json=echoed, headers={"Authorization": f"Bearer {APP_TOKEN}"}, timeout=30
            )
            assert APP_TOKEN in secret.json()["response"], "the model echoed the secrets: the file must not"
            ps = replay(Request("GET", "/api/ps"), proxy.url)
            code, output = proxy.stop()
    assert code == 0, output
    yield Recording(seen, asked_twice, ps, file, output)


@pytest.fixture(scope="module")
def replayed(recording: Recording) -> Iterator[MockOllama]:
    """The recording served by the mock, strict: every answer below comes from a recorded rule."""
    with MockOllama(log_requests=False, fixtures=recording.file, strict_replies=True) as mock:
        mock.freeze()
        yield mock


def test_the_proxy_says_what_it_recorded(recording: Recording) -> None:
    assert f"recorded 18 answers to 17 distinct requests (18 reply rules) and 7 models to {recording.file}" in (
        recording.output
    )
    assert recording.seen["chat scripted error"].status == 500, "the scripted upstream answered an error"


def test_every_answer_is_replayed_byte_for_byte_but_times_and_durations(
    recording: Recording, replayed: MockOllama
) -> None:
    found = []
    for name, request in TRAFFIC.items():
        found += compare(
            recording.seen[name], replay(request, replayed.url), exchange=name, volatility=TIMES_AND_DURATIONS
        )
    assert [difference.line() for difference in found] == []


def test_a_request_answered_differently_is_replayed_in_the_same_order(
    recording: Recording, replayed: MockOllama
) -> None:
    answers = [replay(ASKED_TWICE, replayed.url) for _ in range(3)]
    assert [json.loads(answer.body)["message"]["content"] for answer in answers] == [
        "The first answer.",
        "The second answer.",
        "The second answer.",
    ], "the last answer stays"
    assert [json.loads(answer.body)["message"] for answer in recording.asked_twice] == [
        json.loads(answer.body)["message"] for answer in answers[:2]
    ]


def test_ps_after_the_replay_lists_the_replayed_loads(recording: Recording, replayed: MockOllama) -> None:
    used = {"llama3.2:latest", "qwen3:8b", "smollm2:360m", "codellama:7b"}
    listed = {
        model["name"]: model for model in json.loads(replay(Request("GET", "/api/ps"), replayed.url).body)["models"]
    }
    upstream = {model["name"]: model for model in json.loads(recording.ps.body)["models"]}
    assert set(listed) & used == set(upstream) & used != set()
    for name in set(upstream) & used:
        assert listed[name]["size"] == upstream[name]["size"], f"{name}: the footprint the server showed"


def test_the_recording_holds_no_secret(recording: Recording) -> None:
    text = recording.file.read_text(encoding="utf-8")
    assert UPSTREAM_TOKEN not in text and APP_TOKEN not in text
    assert "repeat *** and ***" in text, "the echoed secrets are masked, the rest of the answer kept"
    assert '"messages"' not in text and "Tell me a story" not in text, "requests are kept as fingerprints only"


def test_a_recorded_request_streamed_the_other_way_still_matches(recording: Recording, replayed: MockOllama) -> None:
    whole = json.loads(TRAFFIC["chat scripted chunks"].body or b"") | {"stream": False}
    answer = requests.post(replayed.url + "/api/chat", json=whole, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"]["content"] == "Arr, this line was scripted upstream, in three chunks."
    streamed = json.loads(TRAFFIC["chat tool call whole"].body or b"") | {"stream": True, "keep_alive": "1h"}
    lines = requests.post(replayed.url + "/api/chat", json=streamed, timeout=30).text.splitlines()
    calls = [json.loads(line)["message"].get("tool_calls") for line in lines]
    assert [call for call in calls if call] == [
        json.loads(recording.seen["chat tool call whole"].body)["message"]["tool_calls"]
    ]


def test_strict_replay_refuses_an_unrecorded_request_in_each_apis_shape(
    recording: Recording, replayed: MockOllama
) -> None:
    native = requests.post(replayed.url + "/api/generate", json={"model": "llama3.2", "prompt": "new"}, timeout=30)
    assert native.status_code == 400
    assert native.json()["error"].startswith("ollama-mock strict replay: no recorded reply matches this request to ")
    assert "ollama-contract proxy --record" in native.json()["error"]
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "new"}]}
    openai = requests.post(replayed.url + "/v1/chat/completions", json=body, timeout=30)
    assert openai.status_code == 400
    assert openai.json()["error"]["type"] == "invalid_request_error"
    assert "no recorded reply matches" in openai.json()["error"]["message"]


def test_ollama_mock_strict_replies_serves_the_recording_and_refuses_the_rest(recording: Recording) -> None:
    with serve_mock("waitress", "--fixtures", str(recording.file), "--strict-replies", "--quiet") as served:
        url = f"http://127.0.0.1:{served.port}"
        recorded = replay(TRAFFIC["generate whole, num_predict"], url)
        assert (
            json.loads(recorded.body)["response"]
            == json.loads(recording.seen["generate whole, num_predict"].body)["response"]
        )
        unrecorded = _post("/api/generate", model="smollm2:360m", prompt="count to eleven", stream=False)
        assert replay(unrecorded, url).status == 400


def test_without_strict_replies_an_unrecorded_request_gets_the_default_answer(recording: Recording) -> None:
    assert read_fixture_file(recording.file).strict_replies is False
    with MockOllama(log_requests=False, fixtures=recording.file) as mock:
        answer = requests.post(mock.url + "/api/generate", json={"model": "llama3.2", "prompt": "new", "stream": False})
        assert answer.json()["response"] == "Mock answer from llama3.2 to: new"


# -- a real server recorded: Ollama 0.33.0-rc2's captured answers (tests/data/real-ollama-0.33) -------------------

#: The captured exchanges with the one model whose `/api/show` was captured: generate and chat, whole and
#: streamed, and the /v1 layer.
REAL_EXCHANGES = ("06_generate_tiny", "08_generate_stream", "09_chat_tiny", "22_v1_chat")
#: What the mock cannot say as the real server did: the prompt's token count (the mock counts words, Ollama
#: the tokens of the model's template) and so `context`'s token ids.
PROMPT_COUNTS = Volatility(
    dict(TIMES_AND_DURATIONS.values)
    | {
        "$.prompt_eval_count": Judge.COUNT,
        "$.context": Judge.TOKENS,
        "$.usage.prompt_tokens": Judge.COUNT,
        "$.usage.total_tokens": Judge.COUNT,
    }
)


def _captured_upstream() -> RawUpstream:
    """A server answering as the real one did: its world (only `tiny` installed, loaded) and its answers."""
    captures = {capture.name: capture for capture in read_captures(REAL_OLLAMA)}
    tags = json.loads(captures["02_tags"].answer.body)
    world = {
        "GET /api/tags": json.dumps({"models": tags["models"][:1]}).encode(),
        "POST /api/show": captures["03_show_tiny"].answer.body,
        "GET /api/ps": captures["07_ps_tiny_loaded"].answer.body,
    }
    answers = {(c.request.method, c.request.path, c.request.body): c.answer for c in captures.values()}

    def answer_as_captured(raw: bytes) -> bytes:
        head, _, body = raw.partition(b"\r\n\r\n")
        method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ")
        if f"{method} {path}" in world:
            return http_answer(world[f"{method} {path}"])
        answer = answers[(method, path, body)]
        return http_answer(answer.body, f"{answer.status} OK", answer.header("Content-Type") or "")

    return RawUpstream(answer_as_captured, version=json.loads(captures["01_version"].answer.body)["version"])


def test_a_real_servers_answers_are_replayed_with_its_pieces_reasons_and_counts(tmp_path: Path) -> None:
    file = tmp_path / "real.yaml"
    upstream = _captured_upstream()
    try:
        with proxy_to(upstream.url, "--record", str(file)) as proxy:
            captures = [capture for capture in read_captures(REAL_OLLAMA) if capture.name in REAL_EXCHANGES]
            for capture in captures:
                assert replay(capture.request, proxy.url).body == capture.answer.body
            code, output = proxy.stop()
    finally:
        upstream.close()
    assert code == 0 and "recorded 4 answers to 3 distinct requests (4 reply rules)" in output, output
    found = []
    with MockOllama(log_requests=False, fixtures=file, strict_replies=True) as replica:
        for capture in captures:
            answer = replay(capture.request, replica.url)
            found += compare(capture.answer, answer, exchange=capture.name, volatility=PROMPT_COUNTS)
    assert [difference.line() for difference in found] == []
