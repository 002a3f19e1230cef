"""`ollama-contract proxy` in front of the mock and of deliberately broken servers: an app's ordinary
traffic passes unchanged, streams arrive chunk by chunk, and the exit code says whether the server
broke a rule the traffic could show."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from ollama_contract_kit.mock_server import MockOllama

from .proxied import PROXY, proxy_to
from .servers import BROKEN, VALID, Server

pytestmark = pytest.mark.slow  # subprocesses: `make check` leaves them out

#: Broken servers whose fault an app's ordinary traffic (below) shows, and the rule that catches each.
SHOWN_BY_TRAFFIC = {
    "models null": "schema",
    "size_vram above size": "/api/ps rules",
    "earliest expiry first": "/api/ps rules",
    "model listed twice": "/api/ps rules",
    "ps as text/plain": "content type",
    "unload ignored": "an unloaded model leaves /api/ps",
    "keep_alive ignored on load": "expires_at matches the keep-alive asked for",
    "loaded model not listed": "a model just used is listed by the next /api/ps",
}
FAITHFUL = ["the default world", "Ollama 0.1.38 profile, CPU only: modified_at, no size_vram", "zone +05:30",
            "behind a prefix and a token"]  # fmt: skip


def app_traffic(url: str, headers: dict[str, str]) -> None:
    """What a dashboard plus a chat app send: list, load, list, unload while polling, a streamed chat."""
    with requests.Session() as session:
        session.headers.update(headers)
        assert session.get(f"{url}/api/ps", timeout=10).ok
        assert session.get(f"{url}/api/tags", timeout=10).ok
        session.post(f"{url}/api/generate", json={"model": "smollm2:360m", "keep_alive": 30}, timeout=10)
        session.get(f"{url}/api/ps", timeout=10)
        session.post(f"{url}/api/generate", json={"model": "smollm2:360m", "keep_alive": 0}, timeout=10)
        for _ in range(4):  # past the proxy's --grace 1
            session.get(f"{url}/api/ps", timeout=10)
            time.sleep(0.35)
        chat = {"model": "smollm2:360m", "messages": [{"role": "user", "content": "hello"}]}
        with session.post(f"{url}/api/chat", json=chat, stream=True, timeout=10) as answer:
            assert answer.ok and len(list(answer.iter_lines())) > 1
        assert session.get(f"{url}/v1/models", timeout=10).ok
        assert session.post(f"{url}/v1/chat/completions", json=chat, timeout=10).ok
        with session.post(f"{url}/v1/chat/completions", json={**chat, "stream": True}, stream=True, timeout=10) as sse:
            assert sse.ok and b"data: [DONE]" in sse.content
        session.get(f"{url}/api/ps", timeout=10)


def _server(name: str) -> Server:
    return next(server for server in [*BROKEN, *VALID] if server.name == name)


@pytest.mark.parametrize("name", FAITHFUL)
def test_ordinary_traffic_through_the_proxy_to_a_faithful_server_exits_0(name: str, tmp_path: Path) -> None:
    server = _server(name)
    with server.start() as mock:
        headers = server.headers
        arguments = ["--json", str(tmp_path / "proxy.json")]
        if headers:
            arguments += ["--headers", json.dumps(headers)]
        with proxy_to(mock.url, *arguments) as proxied:
            app_traffic(proxied.url, {})  # the proxy adds the token upstream
            code, output = proxied.stop()
    assert code == 0, output
    assert "CONFORMS" in output and "[server]" not in output
    report = json.loads((tmp_path / "proxy.json").read_text())
    judged = {result["name"] for result in report["results"] if result["outcome"] == "passed"}
    assert {"/api/ps rules (names, sizes, order, expiry)", "an unloaded model leaves /api/ps"} <= judged
    assert "a model just used is listed by the next /api/ps" in judged
    assert "answer matches the contract's schema for 200" in judged
    assert all("s3cr3t" not in line for line in output.splitlines()), "the added token never shows"


@pytest.mark.parametrize("name", SHOWN_BY_TRAFFIC)
def test_ordinary_traffic_through_the_proxy_to_a_broken_server_exits_1(name: str) -> None:
    with _server(name).start() as mock, proxy_to(mock.url) as proxied:
        app_traffic(proxied.url, {})
        code, output = proxied.stop()
    assert code == 1, output
    violations = re.findall(r"^\[server\] .*$", output, re.MULTILINE)
    assert any(SHOWN_BY_TRAFFIC[name] in line for line in violations), f"caught for the intended reason:\n{output}"
    assert "DOES NOT CONFORM" in output


def test_the_app_s_mistakes_are_reported_apart_and_do_not_fail_the_server() -> None:
    with MockOllama(log_requests=False) as mock, proxy_to(mock.url) as proxied:
        refused = requests.post(f"{proxied.url}/api/generate", json={"model": "smollm2:360m", "keep_alive": "-1"})
        assert refused.status_code == 400, "the server's answer reaches the app unchanged"
        code, output = proxied.stop()
    assert code == 0, output
    assert "[app] POST /api/generate: keep_alive is one Ollama accepts" in output


def test_answers_pass_unchanged_and_streams_arrive_chunk_by_chunk() -> None:
    with MockOllama(log_requests=False, pull_seconds=1.5) as mock, proxy_to(mock.url) as proxied:
        direct = requests.get(f"{mock.url}/api/tags", timeout=10)
        through = requests.get(f"{proxied.url}/api/tags?x=1", timeout=10)
        assert through.content == direct.content and through.headers["Content-Type"] == direct.headers["Content-Type"]
        blob = b"weights!" * 400_000  # 3.2 MB: streams through unread
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        assert requests.post(f"{proxied.url}/api/blobs/{digest}", data=blob, timeout=30).status_code == 201
        started = time.monotonic()
        arrivals = []
        with requests.post(f"{proxied.url}/api/pull", json={"model": "gemma3:1b"}, stream=True, timeout=10) as pull:
            for line in pull.iter_lines():
                arrivals.append((time.monotonic() - started, json.loads(line)["status"]))
        code, _ = proxied.stop()
    assert arrivals[-1][1] == "success"
    first_progress = next(at for at, status in arrivals if status.startswith("pulling "))
    assert arrivals[-1][0] - first_progress >= 1.0, f"lines arrived as they were sent, not at the end: {arrivals}"
    assert code == 0


def test_an_unreachable_upstream_exits_3_and_a_busy_port_2() -> None:
    unreachable = subprocess.run(
        [*PROXY, "--upstream", "http://127.0.0.1:9", "--port", "0"], capture_output=True, text=True, timeout=30
    )
    assert unreachable.returncode == 3 and "http://127.0.0.1:9/api/version" in unreachable.stderr
    with MockOllama(log_requests=False) as mock:
        busy = subprocess.run(
            [*PROXY, "--upstream", mock.url, "--port", str(mock.port)], capture_output=True, text=True, timeout=30
        )
    assert busy.returncode == 2 and "--port" in busy.stderr and "Traceback" not in busy.stderr
