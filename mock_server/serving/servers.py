"""Serving `ollama-mock` from the command line: granian (fast, by measurement) or waitress.

Granian runs the app in one forked worker process, so the world still lives in one process; the
app (fixtures validated, state built) is made before the fork. Where fork is unavailable the mock
falls back to waitress, which also serves the in-thread test handle.
"""

from __future__ import annotations

import logging
import multiprocessing
import socket
from typing import Any

from flask import Flask

from ollama_contract_kit.commandline.console import stop_on_signals

from ..server import bind_server, connection_limit, listen_error, stop_server

SERVERS = ("granian", "waitress")
#: Threads granian runs the app in. Granian reads a body in the app's thread, so each slow upload
#: holds one; more threads cost requests/s and p99 on `/api/ps` to GIL contention (bench/README.md).
GRANIAN_THREADS = 4
#: Seconds granian's worker gets to finish its requests after SIGINT/SIGTERM before it is killed.
STOP_SECONDS = 3


def granian_usable() -> bool:
    """True when granian is installed and processes can be forked (Linux, macOS)."""
    try:
        import granian  # noqa: F401
    except ImportError:
        return False
    return "fork" in multiprocessing.get_all_start_methods()


def default_server() -> str:
    """granian where usable, else waitress."""
    return "granian" if granian_usable() else "waitress"


def raise_open_file_limit() -> None:
    """Let this process open as many files (connections) as the system allows it, as Go programs such as
    Ollama do at start: the usual soft limit, 1,024, is fewer connections than one leaky client opens."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # macOS refuses more than OPEN_MAX: keep the soft limit
            pass


def reserve_port(host: str, port: int) -> int:
    """Check that host:port can be bound (raising MockServerError if not); return the port (a free one for 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise listen_error(error, host, port) from None
        return int(probe.getsockname()[1])


def serve_granian(app: Flask, host: str, port: int, threads: int, idle_timeout: int) -> None:
    """Serve until SIGINT/SIGTERM with granian, one forked worker holding the app.

    HTTP/1.1 only, as Ollama serves (granian's HTTP/2 detection waits on a silent connection with no
    timeout). A connection idle, or in a request head, for `idle_timeout` seconds is closed. Granian has
    no timeout for a body (granian issue #728) and reads it in the thread that runs the app, so a body
    that stops arriving holds one of the `threads` until its client sends the rest or disconnects.
    """
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    multiprocessing.set_start_method("fork", force=True)
    raise_open_file_limit()
    server = Server(
        target="ollama-mock",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=idle_timeout * 1000),
        backpressure=connection_limit(),  # granian's limit of open connections, idle ones included
        workers=1,
        blocking_threads=threads,
        workers_kill_timeout=STOP_SECONDS,
        websockets=False,
        log_enabled=True,
        log_level=LogLevels.error,
    )
    server.serve(target_loader=lambda *_: app, wrap_loader=False)


def serve_waitress(app: Flask, host: str, port: int, threads: int, idle_timeout: int) -> None:
    """Serve until SIGINT/SIGTERM with waitress, in this process (also where the shell ignored SIGINT)."""
    logging.getLogger("waitress").setLevel(logging.CRITICAL)  # our access log covers requests
    raise_open_file_limit()
    server: Any = bind_server(app, host, port, threads=threads, idle_timeout=idle_timeout)
    stop_on_signals()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(server)
