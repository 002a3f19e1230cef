"""Release profiles: at each release the table in openapi/releases.py names, the mock's `/api/ps`,
routing and lifecycle answers are that release's (verify passing at each is in test_verify_selftest)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockConfig, Pace, create_app
from ollama_contract_kit.mock_server.world.fixtures import build_world_document
from ollama_contract_kit.openapi.releases import CHANGES, NEWEST, parse_version, profiles

from .conftest import REPO


def _speaks(release: str, change: str) -> bool:
    version = parse_version(release)
    assert version is not None
    return version >= CHANGES[change].since


@pytest.fixture(params=profiles())
def release(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: One app a release, kept for the module: each test starts it again from its initial world.
_APPS: dict[str, Flask] = {}


def _app_speaking_as(release: str) -> Flask:
    """The default world with nothing running, where three models may stay loaded (as
    OLLAMA_MAX_LOADED_MODELS=3 allowed before 0.1.49 made it the default)."""
    world = create_app(MockConfig(ollama_version=release)).test_client().get("/_mock/world").get_json()
    world["machine"]["environment"] = {"OLLAMA_MAX_LOADED_MODELS": 3}
    document = build_world_document({**world, "running": []}, "test world")
    return create_app(MockConfig(ollama_version=release, world=document, log_requests=False))


@pytest.fixture
def client(release: str) -> Iterator[FlaskClient]:
    app = _APPS.get(release) or _APPS.setdefault(release, _app_speaking_as(release))
    state = app.extensions["ollama_mock"]
    state.reset()
    state.clock.freeze()
    with app.test_client() as client:
        yield client


def _ps(client: FlaskClient) -> list[dict[str, Any]]:
    return list(client.get("/api/ps").get_json()["models"])


def test_version_is_the_release(client: FlaskClient, release: str) -> None:
    assert client.get("/api/version").get_json() == {"version": release}


def test_ps_entries_have_the_fields_of_the_release(client: FlaskClient, release: str) -> None:
    world = client.get("/_mock/world").get_json()
    world["running"] = [
        {"model": "llama3.2:latest", "keep_alive": "1h"},
        {"model": "smollm2:360m", "keep_alive": "1h", "size_vram": 0},
    ]
    client.put("/_mock/world", json={**world, "version": release})
    by_name = {entry["name"]: entry for entry in _ps(client)}
    gpu, cpu = by_name["llama3.2:latest"], by_name["smollm2:360m"]
    if _speaks(release, "ps_struct"):
        assert "modified_at" not in gpu and cpu["size_vram"] == 0
        assert list(gpu)[:2] == ["name", "model"] and list(gpu)[2] == "size"
    else:
        assert list(gpu)[:4] == ["name", "model", "modified_at", "size"]
        assert gpu["modified_at"] == "0001-01-01T00:00:00Z" and "size_vram" in gpu
        assert "size_vram" not in cpu, "omitempty: no size_vram when the model runs on the CPU"
    assert ("context_length" in gpu) is _speaks(release, "ps_context_length")


def test_ps_order_is_the_release_s(client: FlaskClient, release: str) -> None:
    for model, keep_alive in [("smollm2:360m", "10m"), ("llama3.2", "2h"), ("qwen3:8b", "1h")]:
        client.post("/api/generate", json={"model": model, "keep_alive": keep_alive})
    names = [entry["name"] for entry in _ps(client)]
    if _speaks(release, "ps_sorted"):
        assert names == ["llama3.2:latest", "qwen3:8b", "smollm2:360m"], "the latest expiry first"
    else:
        assert names == ["smollm2:360m", "llama3.2:latest", "qwen3:8b"], "no order: as loaded"


def test_wrong_methods_are_the_release_s(client: FlaskClient, release: str) -> None:
    answer = client.post("/api/ps")
    if _speaks(release, "method_not_allowed"):
        assert answer.status_code == 405 and answer.headers["Allow"] == "GET"
    else:
        assert answer.status_code == 404 and answer.data == b"404 page not found" and "Allow" not in answer.headers


@pytest.mark.parametrize(("path", "empty"), [("/api/generate", {}), ("/api/chat", {"messages": []})])
def test_load_and_unload_answers_are_the_release_s(
    client: FlaskClient, release: str, path: str, empty: dict[str, Any]
) -> None:
    """Every release since 0.1.35 (cfa84b847) says "load" on a load; from 0.3.11 (abed273de) an unload says
    "unload", before it the keep_alive 0 request loaded like any other ("load") and the model expired."""
    loaded = client.post(path, json={"model": "smollm2:360m", **empty}).get_json()
    assert [entry["name"] for entry in _ps(client)] == ["smollm2:360m"]
    unloaded = client.post(path, json={"model": "smollm2:360m", "keep_alive": 0, **empty}).get_json()
    assert _ps(client) == [], "the model leaves /api/ps either way"
    unload_reason = "unload" if _speaks(release, "unload_reason") else "load"
    assert (loaded["done"], loaded["done_reason"]) == (True, "load")
    assert (unloaded["done"], unloaded["done_reason"]) == (True, unload_reason)
    if path == "/api/chat":
        keys = list(loaded)
        reason_after_done = keys.index("done_reason") > keys.index("done")
        assert reason_after_done is _speaks(release, "chat_done_reason_last"), keys


@pytest.mark.parametrize(("release", "reason"), [("0.3.10", "load"), ("0.3.11", "unload")])
def test_the_unload_reason_begins_with_0_3_11(release: str, reason: str) -> None:
    with create_app(MockConfig(ollama_version=release, log_requests=False)).test_client() as client:
        client.post("/api/generate", json={"model": "smollm2:360m"})
        answer = client.post("/api/generate", json={"model": "smollm2:360m", "keep_alive": 0}).get_json()
        assert answer["done_reason"] == reason
        listed = [entry["name"] for entry in client.get("/api/ps").get_json()["models"]]
        assert "smollm2:360m" not in listed, "unloaded (or, before 0.3.11, expired at once)"


def test_before_0_3_11_an_unload_is_a_load_and_checks_what_a_load_checks() -> None:
    with create_app(MockConfig(ollama_version="0.3.10", log_requests=False)).test_client() as client:
        answer = client.post("/api/generate", json={"model": "nomic-embed-text", "keep_alive": 0})
        assert (answer.status_code, answer.get_json()) == (
            400,
            {"error": '"nomic-embed-text" does not support generate'},
        )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unclean_paths_redirect_as_the_release_s(client: FlaskClient, release: str, method: str) -> None:
    answer = client.open("/api/./ps", method=method)
    assert answer.status_code == (307 if _speaks(release, "clean_path_307") else 301)
    assert answer.headers["Location"] == "/api/ps"


def test_capabilities_are_said_from_their_release(client: FlaskClient, release: str) -> None:
    tags = client.get("/api/tags").get_json()["models"]
    show = client.post("/api/show", json={"model": "llama3.2"}).get_json()
    assert all(("capabilities" in model) is _speaks(release, "tags_capabilities") for model in tags)
    assert ("capabilities" in show) is _speaks(release, "show_capabilities")


def test_thinking_exists_from_its_release(client: FlaskClient, release: str) -> None:
    question = {"model": "qwen3:8b", "messages": [{"role": "user", "content": "why?"}], "stream": False}
    message = client.post("/api/chat", json=question).get_json()["message"]
    assert ("thinking" in message) is _speaks(release, "thinking")
    refused = client.post("/api/chat", json={**question, "model": "llama3.2", "think": True})
    assert refused.status_code == (400 if _speaks(release, "thinking") else 200), "before it, think was ignored"


def test_tool_calls_carry_ids_from_their_release(client: FlaskClient, release: str) -> None:
    tool = {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}
    question = {"model": "llama3.2", "messages": [{"role": "user", "content": "time?"}], "tools": [tool]}
    call = client.post("/api/chat", json={**question, "stream": False}).get_json()["message"]["tool_calls"][0]
    assert ("id" in call) is _speaks(release, "tool_call_ids")
    openai = client.post("/v1/chat/completions", json=question).get_json()
    assert openai["choices"][0]["message"]["tool_calls"][0]["id"], "the /v1 layer always gave ids"


@pytest.mark.parametrize(
    ("method", "path", "body", "change"),
    [
        ("GET", "/api/status", None, "status"),
        ("GET", "/v1/models", None, "openai_models"),
        ("GET", "/v1/models/llama3.2", None, "openai_models"),
        ("POST", "/v1/completions", {"model": "llama3.2", "prompt": "hi"}, "openai_models"),
        ("POST", "/api/embed", {"model": "nomic-embed-text", "input": "hi"}, "embed"),
        ("POST", "/v1/embeddings", {"model": "nomic-embed-text", "input": "hi"}, "embed"),
    ],
)
def test_routes_exist_from_their_release(
    client: FlaskClient, release: str, method: str, path: str, body: Any, change: str
) -> None:
    answer = client.open(path, method=method, json=body)
    if _speaks(release, change):
        assert answer.status_code == 200, answer.data
    else:
        assert answer.status_code == 404 and answer.data == b"404 page not found"


def test_routes_that_always_were_are_always_served(client: FlaskClient) -> None:
    assert client.post("/api/embeddings", json={"model": "nomic-embed-text", "prompt": "hi"}).status_code == 200
    chat = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
    assert client.post("/v1/chat/completions", json=chat).status_code == 200


def test_the_newest_release_is_the_default() -> None:
    with create_app(MockConfig(log_requests=False)).test_client() as client:
        assert client.get("/api/version").get_json() == {"version": NEWEST}
    assert profiles()[-1] == NEWEST
    assert profiles() == sorted(profiles(), key=parse_version), "the table lists changes oldest first"


@pytest.mark.parametrize("bad", ["0.1.37", "1.x", "latest"])
def test_a_release_the_kit_cannot_speak_as_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="release|older than 0.1.38"):
        create_app(MockConfig(ollama_version=bad))


def test_the_releases_page_lists_every_change_as_the_table_says() -> None:
    page = (REPO / "docs" / "releases.md").read_text(encoding="utf-8")
    for change in CHANGES.values():
        commits = ", ".join(f"`{commit.strip()}`" for commit in change.source.split(","))
        row = f"| {'.'.join(map(str, change.since))} | {change.after} | {change.before} | {commits} |"
        assert row in page, f"docs/releases.md lacks (or words otherwise) the row {row}"
    assert f"| {NEWEST} | the default: all of the above | | |" in page


def test_the_scheduler_defaults_are_the_release_s(release: str) -> None:
    app = create_app(MockConfig(ollama_version=release, log_requests=False, pace=Pace.instant()))
    with app.test_client() as client:
        world = client.get("/_mock/world").get_json()
        world["machine"] = {"gpus": [{"memory": "24 GiB"}]}
        client.put("/_mock/world", json={**world, "running": [], "version": release})
        for name in ("smollm2:360m", "llama3.2", "codellama:7b"):
            client.post("/api/generate", json={"model": name})
        listed = {entry["name"]: entry for entry in _ps(client)}
    assert len(listed) == (3 if _speaks(release, "concurrent_models") else 1), "the cap on loaded models"
    if _speaks(release, "ps_context_length"):
        context = 32768 if _speaks(release, "context_by_vram") else 4096 if _speaks(release, "context_4096") else 2048
        assert listed["codellama:7b"]["context_length"] == min(context, 16384), "the default context, capped"
