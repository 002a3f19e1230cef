"""Browser-facing rules like Ollama's: CORS with its default origins, preflights, and the Host check."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockConfig, create_app


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost",
        "http://localhost:5173",
        "https://127.0.0.1:8443",
        "http://0.0.0.0:3000",
        "app://x",
        "tauri://localhost",
        "vscode-webview://abc",
        "file://",
    ],
)
def test_default_origins_are_allowed_and_echoed(http: FlaskClient, origin: str) -> None:
    response = http.get("/api/ps", headers={"Origin": origin, "Host": "127.0.0.1:11434"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers.getlist("Vary") == ["Origin"]


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "chrome-extension://abcdef", "http://localhost.evil.example"]
)
def test_other_origins_are_refused_with_an_empty_403(http: FlaskClient, origin: str) -> None:
    for path in ("/api/ps", "/nowhere"):
        response = http.get(path, headers={"Origin": origin})
        assert response.status_code == 403
        assert response.get_data() == b""
        assert "Content-Type" not in response.headers


def test_no_origin_means_no_cors_headers(http: FlaskClient) -> None:
    assert "Access-Control-Allow-Origin" not in http.get("/api/ps").headers


def test_same_origin_is_not_treated_as_cross_origin(http: FlaskClient) -> None:
    response = http.get("/api/ps", headers={"Origin": "http://localhost:11434", "Host": "localhost:11434"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_answers_204_with_ollama_headers(http: FlaskClient) -> None:
    response = http.options(
        "/api/ps", headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"].startswith("Authorization,Content-Type,User-Agent,Accept")
    assert response.headers["Access-Control-Max-Age"] == "43200"
    assert response.headers.getlist("Vary") == [
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
    ]
    assert response.headers["Allow"] == "GET"


def test_origins_option_adds_origins_like_ollama_origins() -> None:
    http = create_app(
        MockConfig(origins=("https://dashboard.example", "chrome-extension://*"), log_requests=False)
    ).test_client()
    assert http.get("/api/ps", headers={"Origin": "https://dashboard.example"}).status_code == 200
    assert http.get("/api/ps", headers={"Origin": "chrome-extension://abc"}).status_code == 200
    assert http.get("/api/ps", headers={"Origin": "https://other.example"}).status_code == 403


def test_star_origin_allows_all_without_vary() -> None:
    http = create_app(MockConfig(origins=("*",), log_requests=False)).test_client()
    response = http.get("/api/ps", headers={"Origin": "https://anything.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in response.headers


@pytest.mark.parametrize("host", ["evil.example", "8.8.8.8:11434", "rebind.attacker.example:11434"])
def test_foreign_host_header_is_refused_on_loopback(http: FlaskClient, host: str) -> None:
    response = http.get("/api/ps", headers={"Host": host})
    assert response.status_code == 403
    assert response.get_data() == b""


@pytest.mark.parametrize(
    "host",
    [
        "localhost:11434",
        "127.0.0.1:11434",
        "[::1]:11434",
        "10.0.0.5",
        "192.168.1.20:11434",
        "my-box.local",
        "api.localhost",
        "host.docker.internal",
        "0.0.0.0:11434",
    ],
)
def test_local_host_headers_are_allowed(http: FlaskClient, host: str) -> None:
    assert http.get("/api/ps", headers={"Host": host}).status_code == 200


def test_options_to_a_local_name_is_204_and_to_an_ip_is_405(http: FlaskClient) -> None:
    assert http.options("/api/ps", headers={"Host": "localhost:11434"}).status_code == 204
    assert http.options("/api/ps", headers={"Host": "127.0.0.1:11434"}).status_code == 405


def test_no_host_check_when_bound_to_all_interfaces() -> None:
    http = create_app(MockConfig(bind_host="0.0.0.0", log_requests=False)).test_client()
    assert http.get("/api/ps", headers={"Host": "evil.example"}).status_code == 200


def test_redirects_happen_before_cors_and_host_checks(http: FlaskClient) -> None:
    response = http.get("/api/ps/", headers={"Host": "evil.example", "Origin": "https://evil.example"})
    assert response.status_code == 301
