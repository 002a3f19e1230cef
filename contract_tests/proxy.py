"""`ollama-contract proxy`: a transparent reverse proxy that judges the traffic an app already sends.

Every request is forwarded unchanged (method, path, query, headers, body) to the upstream, below its
path prefix, with the configured headers added; answers stream back as they arrive (NDJSON and SSE
chunk by chunk). Each exchange is judged once it is complete (traffic.TrafficJudge), and each
violation printed as one line. The proxy's only own request is one `GET /api/version` at start.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import requests
import urllib3

from ollama_contract_kit.client.api import transport_failure_reason
from ollama_contract_kit.commandline.headers import mask_text

from .report import CheckResult, Verification
from .traffic import Exchange, TrafficJudge

#: Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), and Host (set for the upstream).
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}
#: How much of an answer is kept for judging (the app gets all of it).
JUDGED_BYTES = 16 * 1024 * 1024
#: Request bodies up to this size are read and judged; larger ones (blob uploads) stream through unread.
JUDGED_REQUEST_BYTES = 1024 * 1024
#: Seconds to wait for the upstream to accept a connection, and between two chunks of an answer.
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 600.0
_TIMEOUT = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
#: Requests served at once (a streamed generate holds one for its whole answer).
THREADS = 16


@dataclass
class ProxySettings:
    """Where to forward, what to add, and where to say what was found."""

    upstream: str  # base URL, prefix included, no trailing slash
    headers: dict[str, str]
    out: TextIO = sys.stdout
    quiet: bool = False


def _request_headers(environ: dict[str, Any], added: dict[str, str]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
    }
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = environ[key]
    return headers | added


def _target(environ: dict[str, Any]) -> tuple[str, str]:
    """The path as the client sent it (raw, undecoded) and the query string."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ.get("PATH_INFO", "/")
    if "://" in raw.split("?", 1)[0]:  # absolute-form target: keep its path only
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]
    path, _, query = raw.partition("?")
    return path or "/", query


class ProxyApp:
    """The WSGI app: forward, stream back, judge."""

    def __init__(self, settings: ProxySettings, judge: TrafficJudge) -> None:
        self.settings = settings
        self.judge = judge
        # urllib3 directly (requests' own transport): a thread-safe pool, without requests' per-call cost.
        self._pool = urllib3.connection_from_url(
            settings.upstream, maxsize=THREADS, block=False, retries=False, timeout=_TIMEOUT
        )
        self._prefix = urllib3.util.parse_url(settings.upstream).path or ""
        self._print_lock = threading.Lock()

    def say(self, line: str) -> None:
        """Print one line (secrets of the configured headers masked)."""
        with self._print_lock:
            print(mask_text(line, self.settings.headers), file=self.settings.out, flush=True)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        method = environ["REQUEST_METHOD"]
        path, query = _target(environ)
        length = environ.get("CONTENT_LENGTH") or "0"
        declared = int(length) if length.isdigit() else 0
        body = environ["wsgi.input"].read(declared) if 0 < declared <= JUDGED_REQUEST_BYTES else b""
        try:
            upstream = self._pool.urlopen(
                method,
                self._prefix + path + (f"?{query}" if query else ""),
                body=environ["wsgi.input"] if declared > JUDGED_REQUEST_BYTES else body or None,
                headers=_request_headers(environ, self.settings.headers),
                redirect=False,
                preload_content=False,
                decode_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as error:
            reason = f"upstream {self.settings.upstream} did not answer {method} {path}: {type(error).__name__}"
            self.say(f"[proxy] {reason}")
            answer = ('{"error":"ollama-contract proxy: ' + reason.replace('"', "'") + '"}').encode()
            start_response(
                "502 Bad Gateway", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))]
            )
            return [answer]
        headers = [(name, value) for name, value in upstream.headers.items() if name.lower() not in _HOP_BY_HOP]
        start_response(f"{upstream.status} {upstream.reason}", headers)
        length = upstream.headers.get("Content-Length", "")
        if length.isdigit() and int(length) <= JUDGED_BYTES:
            # A whole answer (a load, a listing): judged before the app has it, so the next request sees its effect.
            whole = upstream.read()
            upstream.release_conn()
            self._judge(method, path, body, upstream, whole, started, time.monotonic())
            return [whole]
        return self._relay(method, path, body, upstream, started)

    def _relay(
        self, method: str, path: str, body: bytes, upstream: urllib3.BaseHTTPResponse, started: float
    ) -> Iterator[bytes]:
        """Pass a streamed answer on chunk by chunk, keeping a copy to judge when it ends."""
        kept = bytearray()
        last_read = time.monotonic()
        try:
            for chunk in upstream.stream(65536):
                last_read = time.monotonic()
                if len(kept) < JUDGED_BYTES:
                    kept += chunk[: JUDGED_BYTES - len(kept)]
                yield chunk
            upstream.release_conn()
        finally:
            upstream.close()  # after an early end (the app went away): drops the connection
        self._judge(method, path, body, upstream, bytes(kept), started, last_read)

    def _judge(
        self,
        method: str,
        path: str,
        body: bytes,
        upstream: urllib3.BaseHTTPResponse,
        answer: bytes,
        started: float,
        finished: float,
    ) -> None:
        exchange = Exchange(
            method=method,
            path=path,
            request_body=body,
            status=upstream.status,
            headers={name.lower(): value for name, value in upstream.headers.items()},
            body=answer,
            started=started,
            finished=finished,
        )
        for violation in self.judge.judge(exchange):
            if not self.settings.quiet:
                self.say(violation.line())


class ProxyError(Exception):
    """The proxy cannot start; the message says why, `exit_code` is 3 (upstream unreachable) or 2 (port)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


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


def verification_of(judge: TrafficJudge, upstream: str, version: str | None, seconds: float) -> Verification:
    """The proxy's findings as a Verification: one result per rule the traffic exercised."""
    results = []
    for rule, count in sorted(judge.tally.checked.items()):
        server = [v for v in judge.tally.violations if v.rule == rule and v.side == "server"]
        app = [v for v in judge.tally.violations if v.rule == rule and v.side == "app"]
        shown = (server or app)[:10]
        evidence = "\n".join(violation.line() for violation in shown)
        if len(server or app) > len(shown):
            evidence += f"\n... and {len(server or app) - len(shown)} more"
        title = f"{'the app: ' if app and not server else ''}{rule} ({count} judged)"
        outcome = "failed" if server else "skipped" if app else "passed"
        results.append(CheckResult(name=rule, title=title, outcome=outcome, evidence=evidence))
    return Verification(upstream, version, True, tuple(results), seconds)


def serve_proxy(settings: ProxySettings, host: str, port: int, judge: TrafficJudge) -> None:
    """Serve until SIGINT/SIGTERM (raised as KeyboardInterrupt by the caller's signal handling)."""
    from waitress.server import create_server

    from ollama_contract_kit.mock_server.server import stop_server

    try:
        server: Any = create_server(
            ProxyApp(settings, judge),
            host=host,
            port=port,
            threads=THREADS,
            send_bytes=1,  # pass each streamed chunk on at once
            asyncore_use_poll=True,
            connection_limit=1000,
            ident="",
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=False,
        )
    except OSError as error:
        reason = error.strerror or str(error)
        raise ProxyError(f"cannot listen on {host}:{port}: {reason}; choose another --port", 2) from None
    settings.out.write(
        f"ollama-contract proxy: http://{host}:{server.effective_port} -> {settings.upstream}"
        " (Ctrl-C for the summary)\n"
    )
    settings.out.flush()
    try:
        server.run()
    finally:
        stop_server(server)
