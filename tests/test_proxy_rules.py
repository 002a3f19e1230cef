"""What the proxy's verdict says about answers: no false alarm for Ollama's own shapes (empty 403s, fully
qualified names, large answers judged whole), and the misses closed (undeclared statuses, gin's 404 page
on a route the release serves, placeholder sizes)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable

import pytest
import requests

from ollama_contract_kit.contract_tests.rules import ps_problems, status_problem
from ollama_contract_kit.mock_server import MockOllama

from .proxied import PROXY, RawUpstream, http_answer, proxy_to

pytestmark = pytest.mark.slow  # each test starts the proxy as a process: `make check` leaves them out

EMPTY_403 = b"HTTP/1.1 403 Forbidden\r\nDate: Thu, 03 Dec 2026 10:00:00 GMT\r\nContent-Length: 0\r\n\r\n"
ROUTER_404 = http_answer(b"404 page not found", "404 Not Found", "text/plain")
RUNNING = {
    "name": "smollm2:360m",
    "model": "smollm2:360m",
    "size": 0,
    "digest": "a" * 64,
    "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                "parameter_size": "361.82M", "quantization_level": "Q8_0"},
    "expires_at": "2319-03-15T10:42:23.433405Z",
    "size_vram": 0,
    "context_length": 4096,
}  # fmt: skip


def _verdict(routes: dict[bytes, bytes], calls: Callable[[str], None], version: str = "0.33.0") -> tuple[int, str]:
    """Run `calls` through a proxy in front of a raw upstream answering `routes` (by request line prefix)."""

    def reply(request: bytes) -> bytes:
        return next(answer for line, answer in routes.items() if request.startswith(line))

    upstream = RawUpstream(reply, version)
    try:
        with proxy_to(upstream.url) as proxied:
            calls(proxied.url)
            return proxied.stop()
    finally:
        upstream.close()


def test_ollama_s_empty_403_is_no_violation() -> None:
    code, output = _verdict({b"GET /api/ps ": EMPTY_403}, lambda url: requests.get(f"{url}/api/ps", timeout=10))
    assert code == 0 and "[server]" not in output, output


def test_a_500_on_api_ps_is_a_violation() -> None:
    answer = http_answer(b'{"error":"boom"}', "500 Internal Server Error")
    code, output = _verdict({b"GET /api/ps ": answer}, lambda url: requests.get(f"{url}/api/ps", timeout=10))
    assert code == 1 and "HTTP 500 is not an answer the contract declares for GET /api/ps" in output, output


@pytest.mark.parametrize(("version", "code"), [("0.33.0", 1), ("0.1.38", 0)])
def test_gin_s_404_page_is_a_violation_only_where_the_release_serves_the_route(version: str, code: int) -> None:
    def call(url: str) -> None:
        requests.post(f"{url}/api/embed", json={"model": "x", "input": "y"}, timeout=10)

    exit_code, output = _verdict({b"POST /api/embed ": ROUTER_404}, call, version)
    assert exit_code == code, output
    assert ("serves POST /api/embed" in output) == bool(code)


def test_a_loaded_model_with_a_placeholder_size_is_a_violation() -> None:
    body = json.dumps({"models": [RUNNING]}).encode()
    code, output = _verdict({b"GET /api/ps ": http_answer(body)}, lambda url: requests.get(f"{url}/api/ps", timeout=10))
    assert code == 1 and "size 0 is a placeholder" in output, output


def test_placeholder_sizes_are_one_rule_for_verify_too() -> None:
    assert ps_problems({"models": [RUNNING]}) == [
        "models[0] 'smollm2:360m': size 0 is a placeholder: a loaded model always takes memory"
    ]
    assert ps_problems({"models": [{**RUNNING, "size": 6_564_085}]}) == [], "size_vram 0 is a CPU-only server's"


def test_statuses_outside_the_contract_are_not_judged_by_it() -> None:
    assert status_problem("GET", "/nowhere", 404, None, True) is None, "a route the contract does not describe"
    assert status_problem("GET", "/api/ps", 401, {"200", "405"}, False) is None, "a gateway's credentials check"
    assert status_problem("GET", "/api/ps", 403, {"200", "405"}, False, empty=True) is None, "Ollama's guards"
    assert status_problem("GET", "/api/ps", 403, {"200", "405"}, False) is not None, "a 403 with a body is not"


def test_a_fully_qualified_model_name_is_matched_as_ollama_matches_it() -> None:
    with MockOllama(log_requests=False) as mock, proxy_to(mock.url) as proxied:
        name = "registry.ollama.ai/library/smollm2:360m"
        assert requests.post(f"{proxied.url}/api/generate", json={"model": name, "keep_alive": 30}, timeout=10).ok
        assert requests.get(f"{proxied.url}/api/ps", timeout=10).ok
        code, output = proxied.stop()
    assert code == 0 and "a model just used is listed by the next /api/ps (1 judged)" in output, output


def test_a_large_answer_is_judged_whole() -> None:
    response = "word " * 5_000_000  # 25 MB: the old proxy judged a truncated copy ("not JSON")
    body = json.dumps(
        {"model": "smollm2:360m", "created_at": "2026-12-03T10:00:00Z", "response": response, "done": True}
    ).encode()

    def call(url: str) -> None:
        answer = requests.post(
            f"{url}/api/generate", json={"model": "smollm2:360m", "prompt": "hi", "stream": False}, timeout=30
        )
        assert len(answer.content) == len(body)

    code, output = _verdict({b"POST /api/generate ": http_answer(body)}, call)
    assert code == 0 and "not JSON" not in output and "answer matches the contract's schema for 200" in output, output


def test_an_answer_over_the_judged_size_is_passed_on_and_said_so() -> None:
    body = b'{"models":[],"padding":"' + b"x" * (65 * 1024 * 1024) + b'"}'

    def call(url: str) -> None:
        assert len(requests.get(f"{url}/api/tags", timeout=60).content) == len(body)

    code, output = _verdict({b"GET /api/tags ": http_answer(body)}, call)
    assert code == 0 and "over 64 MiB is passed on but not judged" in output, output


def test_the_upstream_defaults_to_ollama_host_as_everywhere() -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OLLAMA_")}
    missing = subprocess.run(PROXY, env=environment, capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "give --upstream URL, or set OLLAMA_HOST" in missing.stderr
    unreachable = {**environment, "OLLAMA_HOST": "http://127.0.0.1:9"}  # discard port: nothing answers
    refused = subprocess.run([*PROXY, "--port", "0"], env=unreachable, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 3 and "http://127.0.0.1:9" in refused.stderr, "it read OLLAMA_HOST"
