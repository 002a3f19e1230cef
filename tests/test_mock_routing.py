"""Methods, unknown paths and redirects answered like Ollama's gin router."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_ps_answers_only_get(http: FlaskClient, method: str) -> None:
    response = http.open("/api/ps", method=method, headers={"Host": "127.0.0.1:11434"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.headers["Content-Type"] == "text/plain"
    assert response.headers["Content-Length"] == "22"
    assert response.get_data() == (b"" if method == "HEAD" else b"405 method not allowed")
    assert response.status == "405 Method Not Allowed"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/tags", "HEAD, GET"),
        ("POST", "/", "HEAD, GET"),
        ("GET", "/api/generate", "POST"),
        ("GET", "/api/chat", "POST"),
        ("DELETE", "/api/version", "HEAD, GET"),
        ("GET", "/api/delete", "DELETE"),
    ],
)
def test_wrong_method_lists_allowed_methods_in_gin_order(http: FlaskClient, method: str, path: str, allow: str) -> None:
    response = http.open(path, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow


@pytest.mark.parametrize("path", ["/", "/api/version", "/api/tags"])
def test_head_is_routed_where_ollama_routes_it(http: FlaskClient, path: str) -> None:
    get, head = http.get(path), http.head(path)
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]


def test_root_says_ollama_is_running(http: FlaskClient) -> None:
    response = http.get("/")
    assert response.get_data() == b"Ollama is running"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_version_is_json(http: FlaskClient) -> None:
    assert http.get("/api/version").get_json() == {"version": "0.33.0"}


@pytest.mark.parametrize("path", ["/API/PS", "/api/nothing", "/v2/ps", "/api/ps/x"])
def test_unknown_path_is_plain_404(http: FlaskClient, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert response.get_data() == b"404 page not found"
    assert response.headers["Content-Type"] == "text/plain"


def test_trailing_slash_redirects_get_with_301_keeping_the_query(http: FlaskClient) -> None:
    response = http.get("/api/ps/?x=1")
    assert response.status_code == 301
    assert response.headers["Location"] == "/api/ps?x=1"
    assert response.get_data() == b'<a href="/api/ps?x=1">Moved Permanently</a>.\n\n'


def test_trailing_slash_on_post_redirects_with_307(http: FlaskClient) -> None:
    response = http.post("/api/generate/", json={"model": "smollm2:360m"})
    assert response.status_code == 307
    assert response.headers["Location"] == "/api/generate"


def test_trailing_slash_without_a_route_for_the_method_is_404(http: FlaskClient) -> None:
    assert http.post("/api/ps/").status_code == 404


@pytest.mark.parametrize(
    ("path", "cleaned"), [("/api//ps", "/api/ps"), ("/api/./ps", "/api/ps"), ("/api/x/../ps", "/api/ps")]
)
def test_unclean_paths_redirect_to_the_clean_one(http: FlaskClient, path: str, cleaned: str) -> None:
    response = http.get(path)
    assert response.status_code == 307, "Go 1.26's ServeMux (Ollama 0.23.1 on); 301 before"
    assert response.headers["Location"] == cleaned
    assert response.get_data() == f'<a href="{cleaned}">Temporary Redirect</a>.\n\n'.encode()


def test_every_real_route_answers_only_its_methods(http: FlaskClient) -> None:
    for path, allowed in [("/api/show", "POST"), ("/api/delete", "DELETE"), ("/api/blobs/sha256:x", "HEAD, POST")]:
        response = http.get(path)
        assert response.status_code == 405 and response.headers["Allow"] == allowed, path


def test_tags_lists_installed_models_newest_first(http: FlaskClient) -> None:
    models = http.get("/api/tags").get_json()["models"]
    stamps = [model["modified_at"] for model in models]
    assert len(models) == 7
    assert [model["name"] for model in models][0] == "llama3.2:latest"
    assert stamps == sorted(stamps, reverse=True)
    assert any(model["details"]["families"] is None for model in models)
