"""The official `ollama` Python client works unchanged against the mock."""

from __future__ import annotations

import ollama
import pytest

from ollama_contract_kit.mock_server import MockOllama


def _names(client: ollama.Client) -> list[str]:
    return [model.model or "" for model in client.ps().models]


def test_ps_list_load_unload_and_errors(ollama_mock: MockOllama) -> None:
    with ollama.Client(host=ollama_mock.url) as client:
        _check_ps_list_load_unload_and_errors(client)


def _check_ps_list_load_unload_and_errors(client: ollama.Client) -> None:
    running = client.ps().models
    assert [model.model for model in running][0] == "llama3.2:latest"
    assert running[0].expires_at is not None and running[0].expires_at.year > 2300
    assert running[0].details is not None and running[0].details.family == "llama"
    assert {model.model for model in client.list().models} >= {"smollm2:360m", "codellama:7b"}
    loaded = client.generate(model="smollm2:360m")
    assert loaded.done_reason == "load"
    assert "smollm2:360m" in _names(client)
    unloaded = client.generate(model="smollm2:360m", keep_alive=0)
    assert unloaded.done_reason == "unload"
    assert "smollm2:360m" not in _names(client)
    with pytest.raises(ollama.ResponseError) as raised:
        client.generate(model="llama9")
    assert raised.value.status_code == 404
    assert raised.value.error == "model 'llama9' not found"


def test_generate_and_chat_answers_parse(ollama_mock: MockOllama) -> None:
    with ollama.Client(host=ollama_mock.url) as client:
        assert client.generate(model="smollm2:360m", prompt="hi").response.startswith("Mock answer")
        parts = client.chat(model="smollm2:360m", messages=[{"role": "user", "content": "hi"}], stream=True)
        assert "".join(part.message.content or "" for part in parts) == "Mock answer from smollm2:360m to: hi"


def test_behind_base_path_and_token() -> None:
    with MockOllama(base_path="/ollama", token="t0k", log_requests=False) as mock:
        with ollama.Client(host=mock.url, headers={"Authorization": "Bearer t0k"}) as client:
            assert "llama3.2:latest" in _names(client)
            client.generate(model="smollm2:360m", keep_alive="10m")
            assert "smollm2:360m" in _names(client)
            client.generate(model="smollm2:360m", keep_alive=0)
            assert "smollm2:360m" not in _names(client)
        with ollama.Client(host=mock.url) as anonymous, pytest.raises(ollama.ResponseError) as raised:
            anonymous.ps()
        assert raised.value.status_code == 401
