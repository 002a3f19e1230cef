"""The rest of Ollama 0.33's router: transcriptions, and the routes that need ollama.com, answered as a
server with its cloud off; each from the release that added it, and 404 where Ollama has no route."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from openai import InternalServerError, OpenAI

from ollama_contract_kit.mock_server import MockConfig, MockOllama, create_app
from ollama_contract_kit.openapi.releases import CHANGES

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)
#: `defaultModelRecommendations` as a 0.33 server without a cached list sends it (server/model_recommendations.go).
RECOMMENDATIONS = (
    b'{"recommendations":[{"model":"kimi-k2.6:cloud","description":"State-of-the-art coding, long-horizon '
    b'execution, and multimodal agent swarm capability","context_length":262144,"max_output_tokens":262144},'
    b'{"model":"glm-5.1:cloud","description":"Reasoning and code generation","context_length":202752,'
    b'"max_output_tokens":131072},{"model":"qwen3.5:cloud","description":"Reasoning, coding, and agentic tool use '
    b'with vision","context_length":262144,"max_output_tokens":32768},{"model":"minimax-m2.7:cloud","description":'
    b'"Fast, efficient coding and real-world productivity","context_length":204800,"max_output_tokens":128000},'
    b'{"model":"gemma4","description":"Reasoning and code generation locally","vram_bytes":12000000000},'
    b'{"model":"qwen3.5","description":"Reasoning, coding, and visual understanding locally",'
    b'"vram_bytes":14000000000}]}'
)


def gin_error(status: int, message: str) -> tuple[int, str, bytes]:
    return status, "application/json; charset=utf-8", json.dumps({"error": message}, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("POST", "/api/me", None, gin_error(503, "account unavailable")),
        ("POST", "/api/signout", None, gin_error(500, "there was an error signing out")),
        ("DELETE", "/api/user/keys/c3NoLWVkMjU1MTk", None, gin_error(500, "there was an error signing out")),
        (
            "POST",
            "/api/experimental/web_search",
            b'{"query": "ollama"}',
            gin_error(403, "ollama cloud is disabled: web search is unavailable"),
        ),
        (
            "POST",
            "/api/experimental/web_fetch",
            b'{"url": "https://ollama.com"}',
            gin_error(403, "ollama cloud is disabled: web fetch is unavailable"),
        ),
        ("POST", "/api/experimental/web_search", b" \n", gin_error(400, "missing request body")),
        (
            "GET",
            "/api/experimental/model-recommendations",
            None,
            (200, "application/json; charset=utf-8", RECOMMENDATIONS),
        ),
    ],
    ids=["me", "signout", "user-keys", "web-search", "web-fetch", "web-search-empty", "recommendations"],
)
def test_cloud_routes_answer_as_a_server_with_the_cloud_off(
    ollama_mock: MockOllama, method: str, path: str, body: bytes | None, expected: tuple[int, str, bytes]
) -> None:
    answer = requests.request(method, ollama_mock.url + path, data=body, timeout=10)
    assert (answer.status_code, answer.headers["Content-Type"], answer.content) == expected


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/me", "POST"),
        ("HEAD", "/api/experimental/model-recommendations", "GET"),
        ("GET", "/v1/messages", "POST"),
        ("GET", "/v1/responses", "POST"),
        ("GET", "/v1/audio/transcriptions", "POST"),
    ],
)
def test_wrong_methods_get_gin_s_405(ollama_mock: MockOllama, method: str, path: str, allowed: str) -> None:
    answer = requests.request(method, ollama_mock.url + path, timeout=10)
    assert (answer.status_code, answer.headers["Allow"]) == (405, allowed)


@pytest.mark.parametrize(
    "path",
    ["/v1/messages/count_tokens", "/v1/images/generations", "/v1/images/edits", "/api/signin", "/v1/audio/speech"],
)
def test_routes_ollama_does_not_have_are_404(ollama_mock: MockOllama, path: str) -> None:
    answer = requests.post(ollama_mock.url + path, json={}, timeout=10)
    assert (answer.status_code, answer.content) == (404, b"404 page not found")


@pytest.fixture
def hearing(ollama_mock: MockOllama) -> MockOllama:
    """The default world, plus `gemma4` that can hear and see."""
    world = requests.get(ollama_mock.url + "/_mock/world", timeout=10).json()
    gemma = dict(next(model for model in world["models"] if model["name"] == "llama3.2:latest"))
    digest = "9" * 64  # weights of its own: a runner of its own
    gemma |= {
        "name": "gemma4:latest",
        "digest": digest,
        "weights": f"sha256:{digest}",
        "capabilities": ["completion", "vision", "audio"],
    }
    ollama_mock.use_world(world | {"models": [*world["models"], gemma]})
    return ollama_mock


def transcribe(mock: MockOllama, model: str, audio: bytes = WAV, **fields: str) -> requests.Response:
    files = {"file": ("speech.wav", audio, "audio/wav")}
    return requests.post(
        mock.url + "/v1/audio/transcriptions", data={"model": model, **fields}, files=files, timeout=30
    )


def test_a_model_that_hears_transcribes(hearing: MockOllama) -> None:
    answer = transcribe(hearing, "gemma4")
    assert (answer.status_code, answer.headers["Content-Type"]) == (200, "application/json")
    assert answer.content == b'{"text":"Mock answer from gemma4 to: What exact words are spoken in this audio?"}\n'
    text = transcribe(hearing, "gemma4", response_format="text", language="French")
    assert (text.headers["Content-Type"], text.text) == ("text/plain", answer.json()["text"])
    assert "gemma4:latest" in [model["name"] for model in hearing.running()], "the model loaded to listen"


def test_the_openai_client_transcribes(hearing: MockOllama) -> None:
    with OpenAI(base_url=hearing.url + "/v1", api_key="ollama", max_retries=0) as client:
        said = client.audio.transcriptions.create(model="gemma4", file=("speech.wav", WAV, "audio/wav"))
        assert said.text.startswith("Mock answer from gemma4")
        with pytest.raises(InternalServerError, match="audio input is not supported"):
            client.audio.transcriptions.create(model="llama3.2", file=("speech.wav", WAV, "audio/wav"))


def test_a_model_that_cannot_hear_gets_the_runner_s_500(hearing: MockOllama) -> None:
    answer = transcribe(hearing, "llama3.2")
    assert (answer.status_code, answer.headers["Content-Type"]) == (500, "application/json")
    error = answer.json()["error"]
    assert error["type"] == "api_error" and json.loads(error["message"])["error"]["message"].startswith(
        "audio input is not supported"
    )
    not_audio = transcribe(hearing, "llama3.2", audio=b"\x89PNG\r\n\x1a\n")
    assert "image input is not supported" in not_audio.json()["error"]["message"], "other bytes go as an image"


@pytest.mark.parametrize(
    ("send", "message"),
    [
        (
            {"json": {"model": "gemma4"}},
            "failed to parse multipart form: request Content-Type isn't multipart/form-data",
        ),
        ({"files": {"file": ("a.wav", WAV)}}, "model is required"),
        ({"data": {"model": "gemma4"}, "files": {"other": ("a.wav", WAV)}}, "file is required: http: no such file"),
        ({"data": {"model": "gemma4"}, "files": {"file": ("a.wav", b"")}}, "audio file is empty"),
    ],
    ids=["json", "no-model", "no-file", "empty-file"],
)
def test_the_middleware_refuses_bad_forms(hearing: MockOllama, send: dict[str, Any], message: str) -> None:
    answer = requests.post(hearing.url + "/v1/audio/transcriptions", timeout=10, **send)
    assert (answer.status_code, answer.headers["Content-Type"]) == (400, "application/json; charset=utf-8")
    assert answer.json()["error"] == {"message": message, "type": "invalid_request_error", "param": None, "code": None}


def test_an_unknown_model_is_404_through_the_encoder(hearing: MockOllama) -> None:
    answer = transcribe(hearing, "whisper")
    assert answer.status_code == 404 and answer.content.endswith(b"}\n")
    assert answer.json()["error"]["message"] == "model 'whisper' not found"


ROUTES = [
    ("POST", "/api/me", "account"),
    ("DELETE", "/api/user/keys/abc", "account"),
    ("POST", "/api/signout", "signout"),
    ("POST", "/api/experimental/web_search", "web_tools"),
    ("POST", "/api/experimental/web_fetch", "web_tools"),
    ("POST", "/v1/audio/transcriptions", "transcriptions"),
    ("GET", "/api/experimental/model-recommendations", "model_recommendations"),
]


def _client(release: tuple[int, ...]) -> FlaskClient:
    return create_app(MockConfig(ollama_version=".".join(map(str, release)), log_requests=False)).test_client()


@pytest.mark.parametrize(("method", "path", "change"), ROUTES, ids=[path for _, path, _ in ROUTES])
def test_each_route_exists_from_its_release(method: str, path: str, change: str) -> None:
    since = CHANGES[change].since
    before = (*since[:2], since[2] - 1) if since[2] else (since[0], since[1] - 1, 99)
    assert _client(before).open(path, method=method, data=b"{}").data == b"404 page not found"
    assert _client(since).open(path, method=method, data=b"{}").status_code != 404
