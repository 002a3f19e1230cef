"""Serving the mock: waitress in one process, and a handle that runs it on a free port for tests."""

from __future__ import annotations

import errno
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from flask import Flask

from ollama_contract_kit.openapi.durations import parse_keep_alive

from .answers.replies import rule_from_json
from .app import create_app
from .config import MockConfig
from .native.wire import ps_entry
from .serving.faults import Fault, FaultKind, fault_from_json
from .serving.requestlog import RequestLog
from .state import MockState
from .world.fixtures import build_world_document, read_fixture_file

#: Worker threads of the WSGI server (state stays in one process).
DEFAULT_THREADS = 8


class MockServerError(Exception):
    """The mock cannot be served (e.g. the port is taken)."""


#: Open connections a server keeps (idle ones included) before it stops accepting more, where the
#: process may open that many files (see `connection_limit`).
CONNECTION_LIMIT = 10_000
#: Files kept for everything but connections (the listening socket, logs, fixture files, pipes).
_OTHER_FILES = 64
#: Seconds a connection may send nothing before it is closed: idle between requests, or in the middle
#: of a request head or body. Ollama has no such limit (Go serves each connection in its own goroutine);
#: the mock's servers have a bounded number of threads or connection slots, so it frees them.
IDLE_TIMEOUT = 30


def connection_limit() -> int:
    """CONNECTION_LIMIT, or fewer where the process may not open that many files (RLIMIT_NOFILE)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to read
        return CONNECTION_LIMIT
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return CONNECTION_LIMIT
    return max(1, min(CONNECTION_LIMIT, soft - _OTHER_FILES))


def bind_server(
    app: Flask,
    host: str,
    port: int,
    threads: int = DEFAULT_THREADS,
    loop_timeout: float = 1.0,
    idle_timeout: int = IDLE_TIMEOUT,
) -> Any:
    """Create a waitress server bound to host:port, or raise MockServerError with a clear reason.

    A connection that sends nothing for `idle_timeout` seconds is closed (waitress buffers a request
    whole before a thread sees it, so that also ends a body that stops arriving).
    """
    from waitress.server import create_server  # only when waitress serves: granian start-ups skip it

    from .serving.waitress_rules import apply_mock_rules, waitress_body_limit

    state: MockState = app.extensions["ollama_mock"]
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="",
            asyncore_loop_timeout=loop_timeout,
            asyncore_use_poll=True,  # select() cannot watch more than 1,024 connections
            connection_limit=connection_limit(),
            channel_timeout=idle_timeout,
            cleanup_interval=max(1, idle_timeout // 4),  # how often waitress looks for idle connections
            max_request_body_size=waitress_body_limit(state.config.max_body),
            clear_untrusted_proxy_headers=True,
            expose_tracebacks=False,
        )
    except OSError as error:
        raise listen_error(error, host, port) from None
    apply_mock_rules(server)
    return server


def listen_error(error: OSError, host: str, port: int) -> MockServerError:
    """A one-line reason why host:port cannot be listened on."""
    if error.errno == errno.EADDRINUSE:
        return MockServerError(
            f"port {port} on {host} is already in use (is a real Ollama running?); choose another with --port"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return MockServerError(f"cannot listen on {host}: no such address on this machine")
    return MockServerError(f"cannot listen on {host}:{port}: {error.strerror or error}")


def stop_server(server: Any) -> None:
    """Close the listening socket and every connection, and stop the worker threads."""
    server.close()
    for channel in list(server._map.values()):
        channel.close()
    server.task_dispatcher.shutdown()


class MockOllama:
    """A mock Ollama on a free loopback port, in a background thread, with methods to steer it.

    >>> with MockOllama() as mock:
    ...     requests.get(mock.url + "/api/ps").json()
    """

    def __init__(self, config: MockConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, **settings: Any):
        self.config = replace(config or MockConfig(), bind_host=host, **settings)
        self.host = host
        self.port = port
        self.app: Flask = create_app(self.config)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- running ---------------------------------------------------------------------------------

    def start(self) -> MockOllama:
        """Start serving; returns self."""
        if self._server is not None:
            return self
        self._server = bind_server(self.app, self.host, self.port, loop_timeout=0.1)
        self.port = int(self._server.effective_port)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(self._server,), name=f"ollama-mock:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self, server: Any) -> None:
        # The loop thread closes its own sockets: closing them from another thread races with poll().
        while not self._stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        stop_server(server)

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        if self._server is None:
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> MockOllama:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL clients use, base path included (`http://127.0.0.1:PORT/prefix`)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.config.normalized_base_path()}"

    @property
    def state(self) -> MockState:
        """The server's state (world, clock, faults, request log)."""
        state: MockState = self.app.extensions["ollama_mock"]
        return state

    # -- steering --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the initial world, real time, start-up faults and an empty request log."""
        self.state.reset()

    def use_world(self, fixture: str | Path | dict[str, Any]) -> None:
        """Replace the world with a fixture file or fixture data (validated)."""
        if isinstance(fixture, dict):
            document = build_world_document(fixture, "fixture data")
        else:
            document = read_fixture_file(fixture)
        self.state.apply(document)

    def load(self, model: str, keep_alive: float | None = None) -> dict[str, Any]:
        """Load an installed model (seconds; negative is forever); returns its `/api/ps` entry."""
        state = self.state
        seconds = None if keep_alive is None else _seconds(keep_alive)
        return ps_entry(state.scheduler.place_now(state.world.require(model), seconds), state.world.release)

    def unload(self, model: str) -> None:
        """Unload a model at once."""
        self.state.scheduler.unload(self.state.world.require(model))

    def running(self) -> list[dict[str, Any]]:
        """What `/api/ps` lists now."""
        state = self.state
        return [ps_entry(running, state.world.release) for running in state.scheduler.listing().models]

    def now(self) -> str:
        """The mock's current time, as Ollama writes times."""
        return self.state.clock.instant().format()

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock (at `at`, aware, or now)."""
        self.state.clock.freeze(at)

    def resume(self) -> None:
        """Let the clock run again."""
        self.state.clock.resume()

    def advance(self, seconds: float) -> None:
        """Move the clock forward; models whose time passes expire."""
        self.state.clock.advance(seconds)

    def add_fault(self, route: str, kind: FaultKind | str, value: int | None = None, times: int | None = None) -> Fault:
        """Add a fault (`add_fault("GET /api/ps", "status", 503, times=1)`)."""
        data: dict[str, Any] = {"route": route, "kind": FaultKind(kind).value}
        if value is not None:
            data["value"] = value
        if times is not None:
            data["times"] = times
        fault = fault_from_json(data)
        self.state.faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.state.faults.clear()

    @property
    def requests(self) -> Journal:
        """The answered requests, oldest first, parsed, secrets masked; call it to filter:
        `ollama_mock.requests(route="chat", model="llama3.2")[-1]["json"]["options"]`."""
        return Journal(self.state.requests)

    def reply(
        self,
        content: str = "",
        *,
        thinking: str = "",
        tool_calls: list[dict[str, Any]] | None = None,
        error: tuple[int, str] | None = None,
        done_reason: str | None = None,
        latency_ms: float = 0.0,
        chunks: int | list[str] | None = None,
        thinking_chunks: list[str] | None = None,
        tokens_per_second: float | None = None,
        times: int | None = None,
        **when: Any,
    ) -> dict[str, Any]:
        """Script what the model answers when a request matches `when` (route, model, contains, matches,
        after_tool, tools, format, headers); the first rule a request matches answers it.

        >>> ollama_mock.reply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}], contains="weather")
        >>> ollama_mock.reply("It is sunny in Paris.", after_tool=True, times=1)
        >>> ollama_mock.reply(chunks=["It is ", "sunny."], model="llama3.2")  # streamed in exactly these pieces

        Returns the rule as the control API lists it; ReplyError names a bad argument.
        """
        then: dict[str, Any] = {"content": content, "thinking": thinking, "tool_calls": tool_calls or []}
        then |= {"done_reason": done_reason, "latency_ms": latency_ms, "chunks": chunks}
        then |= {"thinking_chunks": thinking_chunks, "tokens_per_second": tokens_per_second}
        if error is not None:
            then["error"] = {"status": error[0], "message": error[1]}
        data: dict[str, Any] = {"when": when, "then": {key: value for key, value in then.items() if value}}
        if times is not None:
            data["times"] = times
        rule = rule_from_json(data, "reply")
        self.state.replies.add(rule)
        return rule.to_json()

    def clear_replies(self) -> None:
        """Remove every scripted reply (the world's come back with `reset`)."""
        self.state.replies.clear()


class Journal(list[dict[str, Any]]):
    """The request log as a list; calling it filters (`route`, `model`, `method`, `status`)."""

    def __init__(self, log: RequestLog) -> None:
        super().__init__(log.entries())
        self._log = log

    def __call__(
        self, route: str | None = None, model: str | None = None, method: str | None = None, status: int | None = None
    ) -> list[dict[str, Any]]:
        """The requests that match, oldest first."""
        return self._log.entries(route=route, model=model, method=method, status=status)


def _seconds(keep_alive: float) -> float:
    seconds = parse_keep_alive(keep_alive)
    return 0.0 if seconds is None else seconds
