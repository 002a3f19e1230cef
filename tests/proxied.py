"""`ollama-contract proxy` run as users run it (a subprocess on a free loopback port), and upstreams for it:
a raw one that answers with exactly the bytes a test gives (broken framing included)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROXY = [sys.executable, "-m", "ollama_contract_kit.contract_tests.cli", "proxy"]


def http_answer(body: bytes, status: str = "200 OK", content_type: str = "application/json; charset=utf-8") -> bytes:
    """A whole raw HTTP/1.1 answer with its Content-Length."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


@dataclass
class Proxied:
    """A running proxy: its URL, port and process."""

    url: str
    port: int
    process: subprocess.Popen[str]

    def stop(self, how: signal.Signals = signal.SIGINT) -> tuple[int, str]:
        """Signal the proxy, then its exit code and everything it printed."""
        self.process.send_signal(how)
        output, _ = self.process.communicate(timeout=30)
        return self.process.returncode, output


@contextmanager
def proxy_to(upstream: str, *arguments: str, env: dict[str, str] | None = None) -> Iterator[Proxied]:
    """Start `ollama-contract proxy --upstream UPSTREAM --port 0 --grace 1 ARGUMENTS` and wait until it serves."""
    with subprocess.Popen(
        [*PROXY, "--upstream", upstream, "--port", "0", "--grace", "1", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        lines: list[str] = []
        found = None
        while found is None and len(lines) < 4 and (line := process.stdout.readline()):  # then the start's lines
            lines.append(line)
            found = re.search(r"http://127\.0\.0\.1:(\d+) ->", line)
        if found is None:
            process.kill()
        assert found, f"the proxy says where it listens: {lines}"
        port = int(found.group(1))
        proxied = Proxied(f"http://127.0.0.1:{port}", port, process)
        try:
            yield proxied
        finally:
            if process.poll() is None:
                process.kill()


Reply = Callable[[bytes], bytes]


@dataclass
class RawUpstream:
    """A loopback server that reads each request and answers with `reply(request)`'s bytes, then closes.

    `GET /api/version` gets a plain answer, so a proxy can start in front of it; `seen` keeps every request.
    """

    reply: Reply
    version: str = "0.33.0"
    port: int = 0
    seen: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        """Stop listening (a blocked accept wakes up only after a shutdown)."""
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with closing(connection):
            request = _read_request(connection)
            self.seen.append(request)
            version = http_answer(json.dumps({"version": self.version}).encode())
            answer = version if request.startswith(b"GET /api/version ") else self.reply(request)
            try:
                connection.sendall(answer)
            except OSError:
                pass


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    while length and len(body) < int(length.group(1)):
        piece = connection.recv(65536)
        if not piece:
            break
        body += piece
    return head + b"\r\n\r\n" + body


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident memory (VmHWM), in MB (Linux)."""
    found = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) / 1024 if found else 0.0


class StreamingUpstream:
    """An asyncio upstream (in a thread) for capacity tests: `/api/ps` at once, `/api/pull` streaming a line
    every 0.1 s until `finish` is set, blob uploads counted, and distinct 4 MB `/api/embed` answers."""

    def __init__(self) -> None:
        self.finish = threading.Event()
        self.uploaded = 0
        self._count = 0
        self._embedding = json.dumps([[0.25 + index / 1e6 for index in range(1024)] for _ in range(400)]).encode()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.finish.set()
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        from aiohttp import web

        self._stop = asyncio.Event()
        runner = web.ServerRunner(web.Server(self._handle))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        if request.path == "/api/version":
            return web.json_response({"version": "0.33.0"})
        if request.path == "/api/ps":
            return web.json_response({"models": []})
        if request.path.startswith("/api/blobs/"):
            async for piece in request.content.iter_chunked(1 << 20):
                self.uploaded += len(piece)
            return web.Response(status=201)
        if request.path == "/api/embed":
            self._count += 1
            body = (
                b'{"model":"nomic-embed-text:latest","embeddings":'
                + self._embedding
                + (b',"total_duration":%d,"load_duration":1,"prompt_eval_count":1}' % self._count)
            )
            return web.Response(body=body, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        while not self.finish.is_set():
            await response.write(b'{"status":"pulling manifest"}\n')
            await asyncio.sleep(0.1)
        await response.write(b'{"status":"success"}\n')
        return response
