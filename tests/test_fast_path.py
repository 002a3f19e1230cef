"""The WSGI fast path for GET /api/ps answers exactly what the full Flask pipeline answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder

from ollama_contract_kit.mock_server import MockConfig, create_app


def _call(application: Any, app: Flask, **request: Any) -> tuple[str, dict[str, str], bytes]:
    environ = EnvironBuilder(path="/api/ps", **request).get_environ()
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer.update(status=status, headers=dict(headers))

    body = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.mark.parametrize(
    "request_kwargs",
    [{}, {"query_string": "a=1"}, {"headers": {"Host": "localhost:11434"}}, {"headers": {"Authorization": "Bearer x"}}],
)
def test_fast_and_full_paths_agree(request_kwargs: dict[str, Any]) -> None:
    app = create_app(MockConfig(log_requests=False))
    app.extensions["ollama_mock"].clock.freeze()
    fast = _call(app.wsgi_app, app, **request_kwargs)
    full = _call(lambda environ, start: Flask.wsgi_app(app, environ, start), app, **request_kwargs)
    assert fast == full
    assert [entry["path"] for entry in app.extensions["ollama_mock"].requests.entries()][0].startswith("/api/ps")


@pytest.mark.parametrize(
    ("config", "headers", "status"),
    [
        ({"token": "t"}, {}, "401 Unauthorized"),
        ({}, {"Host": "evil.example"}, "403 Forbidden"),
        ({}, {"Origin": "https://evil.example"}, "403 Forbidden"),
        ({}, {"X-Ollama-Mock-Fault": "status=503"}, "503 Service Unavailable"),
    ],
)
def test_requests_needing_the_rules_take_the_full_path(
    config: dict[str, Any], headers: dict[str, str], status: str
) -> None:
    app = create_app(MockConfig(log_requests=False, **config))
    assert _call(app.wsgi_app, app, headers=headers)[0] == status


def test_faults_in_force_take_the_full_path() -> None:
    app = create_app(MockConfig(log_requests=False))
    http = app.test_client()
    http.post("/_mock/faults", json={"route": "GET /api/tags", "kind": "status", "value": 500})
    assert http.get("/api/ps").status_code == 200
    http.post("/_mock/faults", json={"route": "GET /api/ps", "kind": "status", "value": 500})
    assert http.get("/api/ps").status_code == 500


def test_the_access_log_shows_api_ps_like_any_other_request(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(MockConfig())
    with caplog.at_level("INFO", logger="ollama_contract_kit.mock"):
        _call(app.wsgi_app, app)  # the fast path
        _call(app.wsgi_app, app, headers={"X-Ollama-Mock-Fault": "latency=1"})  # the full pipeline
    fast, full = (re.sub(r"\d+\.\d+ms$", "Nms", record.getMessage()) for record in caplog.records)
    assert fast == full and fast.endswith('"GET /api/ps" 200 Nms'), (fast, full)
