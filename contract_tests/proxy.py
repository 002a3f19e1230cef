"""`ollama-contract proxy`: a reverse proxy that judges the traffic an app already sends.

It listens first (a busy port is said before anything is sent), asks the upstream its version once,
then serves on one asyncio loop (aiohttp both ways, uvloop where installed): Ollama's Host and Origin
rules at the door (request_guard), every other request forwarded unchanged with `Host` kept and the
configured headers added, answers streamed back, each exchange judged (forwarding, traffic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

import requests
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ollama_contract_kit.client.api import transport_failure_reason
from ollama_contract_kit.commandline.console import Console
from ollama_contract_kit.commandline.headers import mask_text
from ollama_contract_kit.openapi.hosts import MISSING_HOST, bad_request_text, is_loopback_bind

from .forwarding import ConnectionCut, Forwarder, refusal_answer
from .report import CheckResult, Verification
from .request_guard import Refusal, RequestGuard
from .traffic import TrafficJudge, printable
from .upstream import CONNECT_TIMEOUT

if TYPE_CHECKING:
    from .recording import Recorder

#: The signals that stop the proxy (the summary and the reports follow).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds in-flight exchanges get to finish after SIGINT/SIGTERM before their connections are closed.
STOP_SECONDS = 2.0
_SHOWN_PER_RESULT = 10


@dataclass
class ProxySettings:
    """Where to forward, what to add, which extra hosts to let in, and where to say what was found."""

    upstream: str  # base URL, prefix included, no trailing slash
    headers: dict[str, str]
    out: TextIO = sys.stdout
    quiet: bool = False
    allowed_hosts: tuple[str, ...] = ()

    def mask(self, text: str) -> str:
        """`text` fit to show: the configured secrets masked, odd characters escaped."""
        return printable(mask_text(text, self.headers))


class ProxyError(Exception):
    """The proxy cannot start; the message says why, `exit_code` is 3 (upstream unreachable) or 2 (port)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (ProxyError, exit 2, when the port is taken or the address wrong)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise ProxyError(f"cannot listen on {host}:{port}: {error.strerror or error}", 2) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise ProxyError(f"cannot listen on {host}:{port}: {reason}; choose another --port", 2) from None
    sock.setblocking(False)
    return sock


def upstream_version(settings: ProxySettings) -> str | None:
    """The upstream's `/api/version` (asked once), None when it answers but says none; ProxyError if unreachable."""
    url = settings.upstream + "/api/version"
    try:
        with requests.Session() as session:
            session.trust_env = False
            answer = session.get(url, headers=settings.headers, timeout=CONNECT_TIMEOUT)
    except requests.RequestException as error:
        raise ProxyError(
            f"cannot reach the upstream {url}: {transport_failure_reason(error, CONNECT_TIMEOUT)}", 3
        ) from None
    try:
        data = answer.json()
    except ValueError:
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


class _Connection(RequestHandler):
    """aiohttp's connection, but its own refusals are Go's (`400 Bad Request: missing required Host header`),
    a cut answer closes the connection silently, and nothing is logged."""

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if request.writer.output_size > 0 or isinstance(exc, ConnectionCut):
            raise ConnectionCut  # aiohttp then closes the connection after what was sent
        reason = MISSING_HOST if status == 400 and "Missing 'Host'" in (message or "") else ""
        return refusal_answer(Refusal(400, bad_request_text(reason)) if status == 400 else Refusal(status))


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return _Connection(self, loop=self._loop, **self._kwargs)


def serve_proxy(
    settings: ProxySettings, sock: socket.socket, judge: TrafficJudge, recorder: Recorder | None = None
) -> None:
    """Serve on `sock` until SIGINT or SIGTERM, then give in-flight exchanges STOP_SECONDS to end; with
    `recorder`, each answer of a generating route is recorded too."""
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_serve(settings, sock, judge, recorder))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        # asyncio's loop puts back the default action (death, for SIGTERM) when its handler goes: held back
        # meanwhile, a further signal is then ignored and cannot cut the summary and the reports short.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for number in _STOP_SIGNALS:
                loop.remove_signal_handler(number)
                signal.signal(number, signal.SIG_IGN)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        loop.close()


async def _serve(settings: ProxySettings, sock: socket.socket, judge: TrafficJudge, recorder: Recorder | None) -> None:
    console = Console(settings.out)
    say = (lambda line: None) if settings.quiet else (lambda line: console.line(settings.mask(line)))
    host = sock.getsockname()[0]
    guard = RequestGuard(is_loopback_bind(host), settings.allowed_hosts)
    forwarder = Forwarder(settings.upstream, settings.headers, guard, judge, say, recorder)
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # a broken client is no news
    runner = web.ServerRunner(_Server(forwarder, handler_cancellation=False), handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock, shutdown_timeout=STOP_SECONDS)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in _STOP_SIGNALS:
        loop.add_signal_handler(number, stopped.set)
    try:
        await site.start()
        shown = f"[{host}]" if ":" in host else host
        console.line(
            f"ollama-contract proxy: http://{shown}:{sock.getsockname()[1]} -> {settings.upstream}"
            " (Ctrl-C for the summary)"
        )
        await stopped.wait()
    finally:
        for number in _STOP_SIGNALS:  # stopping already: a second signal changes nothing
            loop.add_signal_handler(number, _stopping_already)
        with contextlib.suppress(Exception):
            await runner.cleanup()
        await forwarder.close()


def _stopping_already() -> None:
    """A signal that arrives while the proxy stops: the stop goes on as it was."""


def verification_of(settings: ProxySettings, judge: TrafficJudge, version: str | None, seconds: float) -> Verification:
    """The proxy's findings as a Verification (masked like the console): one result per rule the traffic
    exercised, plus the upstream's faults and the answers passed on unjudged."""
    results = []
    tally = judge.tally
    for rule, count in sorted(tally.checked.items()):
        server = [v.line() for v in tally.violations if v.rule == rule and v.side == "server"]
        app = [v.line() for v in tally.violations if v.rule == rule and v.side == "app"]
        title = f"{'the app: ' if app and not server else ''}{rule} ({count} judged)"
        outcome = "failed" if server else "skipped" if app else "passed"
        results.append(_result(settings, rule, title, outcome, server or app))
    if tally.faults:
        title = f"answers arrive whole from the upstream ({len(tally.faults)} did not)"
        results.append(_result(settings, "answers arrive whole", title, "failed", tally.faults))
    if tally.not_judged:
        title = f"answers too large to judge ({len(tally.not_judged)}, passed on unjudged)"
        results.append(_result(settings, "answers too large to judge", title, "skipped", tally.not_judged))
    return Verification(settings.mask(settings.upstream), version, True, tuple(results), seconds)


def _result(settings: ProxySettings, name: str, title: str, outcome: str, lines: list[str]) -> CheckResult:
    evidence = "\n".join(lines[:_SHOWN_PER_RESULT])
    if len(lines) > _SHOWN_PER_RESULT:
        evidence += f"\n... and {len(lines) - _SHOWN_PER_RESULT} more"
    return CheckResult(name=name, title=settings.mask(title), outcome=outcome, evidence=settings.mask(evidence))
