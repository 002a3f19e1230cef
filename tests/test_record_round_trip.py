"""`ollama-mock record` records a whole server: the mock recorded, then served from the recording, answers
`/api/show` (verbose or not), `/api/tags` and `/api/ps` byte for byte as the original did."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from ollama_contract_kit.client import OllamaClient
from ollama_contract_kit.contract_tests.captures import Answer, read_captures, replay
from ollama_contract_kit.contract_tests.differential import compare
from ollama_contract_kit.contract_tests.volatility import ollama_volatility
from ollama_contract_kit.mock_server import MockOllama, read_fixture_file
from ollama_contract_kit.mock_server.world.record import snapshot, write_fixture

from .conftest import REAL_OLLAMA
from .served import MOCK
from .servers import Breaker, Headers

#: A whole second: the recorder writes keep-alives in whole seconds.
MOMENT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


RUNNING = [
    {"model": "llama3.2:latest", "keep_alive": -1},
    {"model": "qwen3:8b", "keep_alive": "30m"},
    {"model": "hf.co/bartowski/Ministral-8B-Instruct-2410-GGUF:IQ4_XS", "keep_alive": "10m"},
]


def _original() -> MockOllama:
    """The default world at a frozen moment, plus a model made from another with every show field set."""
    mock = MockOllama(log_requests=False).start()
    mock.freeze(MOMENT)
    world = requests.get(mock.url + "/_mock/world", timeout=10).json()
    mock.use_world(world | {"running": RUNNING})  # loaded from the frozen moment
    made = {
        "model": "pirate",
        "from": "llama3.2",
        "system": "You are a pirate.",
        "parameters": {"temperature": 0.7, "num_ctx": 8192},
        "messages": [{"role": "user", "content": "Ahoy?"}, {"role": "assistant", "content": "Arr!"}],
        "stream": False,
    }
    requests.post(mock.url + "/api/create", json=made, timeout=10).raise_for_status()
    mock.load("smollm2:360m", keep_alive=90)
    return mock


@pytest.fixture(scope="module")
def original() -> Iterator[MockOllama]:
    mock = _original()
    yield mock
    mock.stop()


@pytest.fixture(scope="module", params=[False, True], ids=["compact", "verbose"])
def replica(
    request: pytest.FixtureRequest, original: MockOllama, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MockOllama]:
    """The original recorded (keep-alives from the frozen moment) into a file, and served from it: YAML, or
    JSON for the verbose recording (its tokenizer arrays make YAML slow to read)."""
    out = tmp_path_factory.mktemp("recorded") / ("world.json" if request.param else "world.yaml")
    with OllamaClient(original.url) as client:
        write_fixture(snapshot(client, now=MOMENT, verbose=request.param).document, out)
    with MockOllama(log_requests=False, fixtures=out) as mock:
        mock.freeze(MOMENT)
        mock.use_world(out)  # the running models again, from the frozen moment
        yield mock


def _get(mock: MockOllama, path: str) -> bytes:
    response = requests.get(mock.url + path, timeout=10)
    response.raise_for_status()
    return response.content


def _show(mock: MockOllama, name: str, verbose: bool) -> bytes:
    response = requests.post(mock.url + "/api/show", json={"model": name, "verbose": verbose}, timeout=30)
    response.raise_for_status()
    return response.content


def test_tags_and_ps_are_answered_byte_for_byte(original: MockOllama, replica: MockOllama) -> None:
    assert _get(replica, "/api/tags") == _get(original, "/api/tags")
    assert _get(replica, "/api/ps") == _get(original, "/api/ps")


@pytest.mark.parametrize("verbose", [False, True], ids=["show", "verbose-show"])
def test_every_model_is_shown_byte_for_byte(original: MockOllama, replica: MockOllama, verbose: bool) -> None:
    names = [model["name"] for model in requests.get(original.url + "/api/tags", timeout=10).json()["models"]]
    assert "pirate:latest" in names and "llava:7b" in names
    for name in names:
        assert _show(replica, name, verbose) == _show(original, name, verbose), name


def test_the_recording_holds_every_show_fact_and_says_what_it_estimated(original: MockOllama, tmp_path: Path) -> None:
    out = tmp_path / "world.json"
    command = [*MOCK, "record", "--url", original.url, "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    world = read_fixture_file(out)
    pirate = next(model for model in world.models if model.name == "pirate:latest")
    assert pirate.system == "You are a pirate." and len(pirate.messages) == 2
    assert dict(pirate.parameters) == {
        "stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        "temperature": 0.7,
        "num_ctx": 8192,
    }
    llama = next(model for model in world.models if model.name == "llama3.2:latest")
    assert pirate.weights == llama.weights is not None, "made from llama3.2: the same weights blob"
    assert pirate.model_info is not None and "tokenizer.ggml.model" in pirate.model_info
    assert pirate.tensors is None, "the tensors the mock derives alike are left out"
    assert world.models_path == "/root/.ollama/models"
    lines = [line for line in result.stderr.splitlines() if "was not loaded" in line]
    assert len(lines) == len(world.models) - len(world.running) > 0, result.stderr
    assert "codellama:7b was not loaded; its loaded footprint is estimated by the mock from its architecture" in (
        result.stderr
    )


# -- a real server recorded: the captured Ollama 0.33.0-rc2 (tests/data/real-ollama-0.33) ----------------------


def _captured_server() -> MockOllama:
    """A server that answers `/api/version`, `/api/tags`, `/api/show` and `/api/ps` with the real captures:
    the real `tiny` alone installed (the captures show only its `/api/show`), loaded."""
    captures = {capture.name: capture for capture in read_captures(REAL_OLLAMA)}
    tags = json.loads(captures["02_tags"].answer.body)
    only_tiny = json.dumps({"models": tags["models"][:1]}, separators=(",", ":")).encode()
    answers = {
        "/api/version": captures["01_version"].answer.body,
        "/api/tags": only_tiny,
        "/api/show": captures["03_show_tiny"].answer.body,
        "/api/ps": captures["07_ps_tiny_loaded"].answer.body,
    }

    def answer_as_captured(method: str, path: str, status: str, headers: Headers, body: bytes) -> Any:
        return (
            ("200 OK", [("Content-Type", "application/json; charset=utf-8")], answers[path])
            if path in answers
            else (status, headers, body)
        )

    mock = MockOllama(log_requests=False)
    mock.app.wsgi_app = Breaker(mock.app.wsgi_app, answer_as_captured, None)  # type: ignore[method-assign]
    return mock


def _recorded_real_show(tmp_path: Path) -> tuple[Answer, Answer]:
    """The real `/api/show` of `tiny`, and the answer of the mock serving the real server's recording."""
    out = tmp_path / "real.yaml"
    with _captured_server() as real, OllamaClient(real.url) as client:
        write_fixture(snapshot(client).document, out)
    real_show = next(capture for capture in read_captures(REAL_OLLAMA) if capture.name == "03_show_tiny")
    with MockOllama(log_requests=False, fixtures=out) as replica:
        return real_show.answer, replay(real_show.request, replica.url)


def test_a_recorded_real_server_shows_its_model_byte_for_byte(tmp_path: Path) -> None:
    real, answer = _recorded_real_show(tmp_path)
    found = compare(real, answer, exchange="recorded 03_show_tiny", volatility=ollama_volatility("/api/show"))
    assert found == []
    assert answer.body == real.body


def test_a_footprint_not_seen_is_left_to_the_mock_and_said() -> None:
    """The captured server with only `tiny` loaded: the others' footprints were not observed, so the recording
    leaves them to the mock's memory model, and says so."""
    with (
        MockOllama(log_requests=False, fixtures=REAL_OLLAMA / "world.yaml") as server,
        OllamaClient(server.url) as client,
    ):
        server.load("tiny", keep_alive=300)
        recorded = snapshot(client)
    models = {entry["name"]: entry for entry in recorded.document["models"]}
    assert models["tiny:latest"]["loaded"] == {"size": 6564085, "size_vram": 0, "context_length": 4096}
    assert "loaded" not in models["tiny2:latest"]
    assert set(recorded.estimated) == {"tiny2:latest", "tiny-eos:latest", "tiny-embed:latest"}
    assert recorded.estimated["tiny2:latest"].startswith("by the mock from its architecture")
