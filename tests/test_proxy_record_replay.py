"""Record and replay: `ollama-contract proxy --record` in front of a server, then the mock serving the recording
answers the same requests as the server did, byte for byte but for times and durations, offline."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from ollama_contract_kit.contract_tests.answers import AnswerBody
from ollama_contract_kit.contract_tests.captures import Answer, Request, read_captures, replay
from ollama_contract_kit.contract_tests.differential import compare
from ollama_contract_kit.contract_tests.recording import Recorder
from ollama_contract_kit.contract_tests.traffic import Exchange
from ollama_contract_kit.contract_tests.volatility import Judge, Volatility
from ollama_contract_kit.mock_server import MockOllama, read_fixture_file

from .conftest import REAL_OLLAMA
from .proxied import PROXY, RawUpstream, http_answer, proxy_to
from .served import serve_mock
from .worlds import WEATHER_TOOL

pytestmark = pytest.mark.slow  # each test starts the proxy as a process: `make check` leaves them out

#: The upstream's credential (the proxy adds it), and the app's own (the proxy replaces it).
UPSTREAM_TOKEN = "upstream-secret-7f3a9c"
APP_TOKEN = "app-secret-42b8e1"

#: The same tool as the Responses API and the Messages API declare it.
RESPONSES_TOOL = {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}
MESSAGES_TOOL = {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}


def _post(path: str, **body: Any) -> Request:
    return Request("POST", path, json.dumps(body).encode())


def _chat(model: str, text: str, **extra: Any) -> Request:
    return _post("/api/chat", model=model, messages=[{"role": "user", "content": text}], **extra)


#: What the app asks, by name: default answers and scripted ones, streamed and whole, every generating API.
TRAFFIC = {
    "generate load": _post("/api/generate", model="smollm2:360m"),
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
    "responses whole, thinking": _post("/v1/responses", model="qwen3:8b", input="What is a response?"),
    "responses streamed tool call": _post(
        "/v1/responses", model="llama3.2", input="weather in Oslo?", tools=[RESPONSES_TOOL], stream=True
    ),
    "responses streamed, max_output_tokens": _post(
        "/v1/responses", model="qwen3:8b", input="say a lot", max_output_tokens=6, stream=True
    ),
    "messages whole tool call": _post(
        "/v1/messages",
        model="llama3.2",
        max_tokens=100,
        messages=[{"role": "user", "content": "weather in Lima?"}],
        tools=[MESSAGES_TOOL],
    ),
    "messages streamed, thinking": _post(
        "/v1/messages",
        model="qwen3:8b",
        max_tokens=100,
        messages=[{"role": "user", "content": "think about Lima"}],
        thinking={"type": "enabled", "budget_tokens": 1024},
        stream=True,
    ),
    "messages streamed, max_tokens": _post(
        "/v1/messages",
        model="llama3.2",
        max_tokens=3,
        messages=[{"role": "user", "content": "a long story please"}],
        stream=True,
    ),
}
#: Asked twice; the server answered differently each time, and the replay does so in the same order.
ASKED_TWICE = _chat("llama3.2", "again please", stream=False)
#: What differs between two runs of the same request: times, durations, and the /v1 layer's random ids.
TIMES_AND_DURATIONS = Volatility(
    {
        "$.created_at": Judge.TIMESTAMP,
        "$.created": Judge.UNIX,
        "$.id": Judge.TEXT,  # chatcmpl-N, resp_N, msg_ and random hex
        "$.total_duration": Judge.DURATION,
        "$.load_duration": Judge.DURATION,
        "$.prompt_eval_duration": Judge.DURATION,
        "$.eval_duration": Judge.DURATION,
        "$.models[*].expires_at": Judge.TIMESTAMP,
        # The Responses API's numbered ids and its times (null until completed), the Messages API's random ids.
        "$.completed_at": Judge.TIMESTAMP,
        "$.output[*].id": Judge.ID,
        "$.item_id": Judge.ID,
        "$.item.id": Judge.ID,
        "$.response.id": Judge.ID,
        "$.response.created_at": Judge.UNIX,
        "$.response.completed_at": Judge.TIMESTAMP,
        "$.response.output[*].id": Judge.ID,
        "$.message.id": Judge.TEXT,
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
    assert f"recorded 24 answers to 23 distinct requests (24 reply rules) and 7 models to {recording.file}" in (
        recording.output
    )
    assert recording.seen["chat scripted error"].status == 500, "the scripted upstream answered an error"
    assert "ollama-contract proxy: not recorded: POST /api/generate: a load, not a reply" in recording.output


def _named_events(answer: Answer) -> tuple[bytes, Answer]:
    """A stream of named events (`event: x` then `data: {...}`: the Responses and Messages APIs) as its frames
    without their data, and its data as NDJSON lines, which the differential judgement compares one by one."""
    if not answer.body.startswith(b"event: "):
        return b"", answer
    frames = re.sub(rb"(?m)^data: .*$", b"data:", answer.body)
    documents = b"".join(line.removeprefix(b"data: ") + b"\n" for line in re.findall(rb"(?m)^data: .*$", answer.body))
    headers = tuple(
        (name, "application/x-ndjson" if name.lower() == "content-type" else value) for name, value in answer.headers
    )
    return frames, Answer(answer.status, headers, documents)


def test_every_answer_is_replayed_byte_for_byte_but_times_and_durations(
    recording: Recording, replayed: MockOllama
) -> None:
    found = []
    for name, request in TRAFFIC.items():
        expected_frames, expected = _named_events(recording.seen[name])
        actual_frames, actual = _named_events(replay(request, replayed.url))
        assert actual_frames == expected_frames, f"{name}: the same events, framed alike"
        found += compare(expected, actual, exchange=name, volatility=TIMES_AND_DURATIONS)
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
            whole = http_answer(world[f"{method} {path}"])
        else:
            answer = answers[(method, path, body)]
            whole = http_answer(answer.body, f"{answer.status} OK", answer.header("Content-Type") or "")
        return whole.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)  # the upstream closes after each

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


def test_a_secret_split_across_pieces_is_masked_in_one_piece(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "recorded.yaml", "http://127.0.0.1:9", {"Authorization": f"Bearer {APP_TOKEN}"})
    lines = [{"message": {"role": "assistant", "content": piece}, "done": False} for piece in ("key ", APP_TOKEN[:5])]
    lines += [{"message": {"role": "assistant", "content": APP_TOKEN[5:]}, "done": True, "done_reason": "stop"}]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    answer = AnswerBody(None, "application/x-ndjson")
    exchange = Exchange("POST", "/api/chat", b"{}", 200, {"content-type": "application/x-ndjson"}, answer, 0, 0)
    recorder.add(exchange, body)
    assert [rule["then"]["chunks"] for rule in recorder.rules()] == [["key ***"]]


def test_a_recording_that_cannot_be_made_is_said_before_any_traffic(tmp_path: Path) -> None:
    folder = subprocess.run(
        [*PROXY, "--upstream", "http://127.0.0.1:9", "--record", str(tmp_path)], capture_output=True, text=True
    )
    assert (folder.returncode, folder.stderr) == (2, f"ollama-contract: --record: {tmp_path} is a folder\n")
    upstream = RawUpstream(lambda _: http_answer(b'{"error":"tags are broken"}', "500 Internal Server Error"))
    try:
        refused = subprocess.run(
            [*PROXY, "--upstream", upstream.url, "--port", "0", "--record", str(tmp_path / "recorded.yaml")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        upstream.close()
    assert refused.returncode == 3
    assert "ollama-contract proxy: cannot record the upstream's world for --record: " in refused.stderr
    assert "tags are broken" in refused.stderr and not (tmp_path / "recorded.yaml").exists()
