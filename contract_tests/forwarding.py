"""Forwarding one request and relaying its answer, judging it as it passes.

Bodies of any size stream through both ways; only what judging needs is kept (answers.AnswerBody).
An answer's last piece is held until the exchange is judged, so the app's next request sees its
effect. An upstream fault becomes one `[proxy]` line, and the app sees what the upstream gave it:
the same status and bytes, then the same broken connection; a refused connection is a 502.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import StreamReader, web

from .answers import AnswerBody, response_schema
from .judging_thread import JudgingThread
from .request_guard import Refusal, RequestGuard
from .traffic import Exchange, TrafficJudge, Violation
from .upstream import Answer, AnswerCut, UpstreamError, UpstreamPool, describe

if TYPE_CHECKING:
    from .recording import Recorder, Tap

#: Headers of one connection, never forwarded (RFC 9110 §7.6.1), and those the proxy sets itself.
_HOP_BY_HOP = frozenset(
    {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer", b"trailers"}
    | {b"transfer-encoding", b"upgrade", b"host", b"expect", b"content-length"}
)
#: Large answers held at once for judging off the loop; more are passed on unjudged (and the proxy says so).
PENDING_BYTES = 8 * 1024 * 1024
#: Seconds the large answers still being judged at a stop get to finish.
SETTLE_SECONDS = 5.0
#: Request bodies up to this size are kept and judged (keep_alive, the model used); larger ones only pass.
JUDGED_REQUEST_BYTES = 1024 * 1024
_PIECE = 256 * 1024


class ConnectionCut(ConnectionError):
    """Raised to close the app's connection as the upstream closed it (after what the upstream sent)."""


class _Unbranded(web.StreamResponse):
    """A relayed answer: no `Server` or default `Content-Type` of aiohttp's own, only the upstream's."""

    def __init__(self, *, status: int, reason: str | None, own: frozenset[str], whole: bool = True) -> None:
        super().__init__(status=status, reason=reason)
        self._own = own
        # An answer of known length goes out with its head in one write; a stream's head goes out at once.
        self._send_headers_immediately = not whole

    async def _prepare_headers(self) -> None:
        await super()._prepare_headers()
        for name in ("Server", "Content-Type"):  # aiohttp adds these when the upstream had none
            if name.lower() not in self._own:
                self._headers.popall(name, None)


def refusal_answer(refusal: Refusal) -> web.StreamResponse:
    """Ollama's (or Go's) answer to a request it refuses: an empty 403, or Go's plain-text 400 (body to write)."""
    response = _Unbranded(status=refusal.status, reason=refusal.reason or None, own=frozenset({"content-type"}))
    if refusal.body:
        response.content_type, response.charset = "text/plain", "utf-8"
        response.force_close()  # Go closes the connection after its 400
    response.content_length = len(refusal.body.encode())
    return response


class Forwarder:
    """The request handler: guard, forward, relay, judge."""

    def __init__(
        self,
        upstream: str,
        added_headers: dict[str, str],
        guard: RequestGuard,
        judge: TrafficJudge,
        say: Callable[[str], None],
        recorder: Recorder | None = None,
    ) -> None:
        self.upstream = upstream
        self.prefix = urlsplit(upstream).path.rstrip("/")  # the upstream's path prefix, before each path
        self.added = [(name.encode("latin-1"), value.encode("utf-8")) for name, value in added_headers.items()]
        self.guard = guard
        self.judge = judge
        self.say = say
        self.recorder = recorder
        self.pool = UpstreamPool(upstream)
        #: Large answers being judged in the worker thread, and how many bytes they hold.
        self.settling: set[asyncio.Task[None]] = set()
        self._pending_bytes = 0
        self._worker = JudgingThread()

    async def close(self) -> None:
        """Finish judging the large answers still waiting (SETTLE_SECONDS at most), close the upstream connections."""
        if self.settling:
            _, late = await asyncio.wait(self.settling, timeout=SETTLE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self.pool.close()

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        started = time.monotonic()
        target = request.raw_path
        refusal, host = self.guard.judge(request.method, target, request.version >= (1, 1), request.raw_headers)
        if refusal is not None:
            return await _send_refusal(request, refusal)
        path_and_query = _origin_form(target)
        path = path_and_query.partition("?")[0]
        kept = _KeptBody()
        length = request.content_length
        if request.headers.get("Expect", "").lower() == "100-continue" and request.body_exists:
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # curl waits a second for it
        body: bytes | AsyncIterator[bytes] | None = None
        if length is not None and length <= JUDGED_REQUEST_BYTES:
            body = kept.take(await request.read()) if length else None
        elif request.body_exists:
            body = kept.stream(request.content)
        head = self._head(request.raw_headers, host, length)
        try:
            answer = await self.pool.request(request.method, self.prefix + path_and_query, head, body)
        except UpstreamError as error:
            if error.refused:
                return self._unreachable(request.method, path, str(error))
            self._fault(request.method, path, f"no answer ({error})")
            raise ConnectionCut from None
        tap = self.recorder.tap(request.method, path, request.raw_headers) if self.recorder is not None else None
        try:
            return await self._relay(request, answer, path, kept, started, tap)
        finally:
            answer.release()

    def _head(self, headers: Sequence[tuple[bytes, bytes]], host: str, length: int | None) -> bytes:
        """The header lines sent upstream: the app's as they came (hop-by-hop ones aside), `Host`, the added ones."""
        hop = _connection_tokens(headers)
        added = {name.lower() for name, _ in self.added}
        lines = [b"Host: " + host.encode("latin-1")]
        lines += [
            name + b": " + value
            for name, value in headers
            if name.lower() not in _HOP_BY_HOP and name.lower() not in hop and name.lower() not in added
        ]
        if length is not None:
            lines.append(b"Content-Length: %d" % length)
        lines += [name + b": " + value for name, value in self.added]
        return b"\r\n".join(lines) + b"\r\n"

    async def _relay(
        self, request: web.BaseRequest, answer: Answer, path: str, kept: _KeptBody, started: float, tap: Tap | None
    ) -> web.StreamResponse:
        method = request.method
        own = frozenset(name.decode("latin-1").lower() for name, _ in answer.headers)
        response = _Unbranded(status=answer.status, reason=answer.reason, own=own, whole=answer.length is not None)
        for name, value in answer.headers:
            if name.lower() not in _HOP_BY_HOP:
                response.headers.add(name.decode("latin-1"), value.decode("utf-8", "replace"))
        if answer.length is not None:
            response.content_length = answer.length
        media = (answer.header(b"content-type") or "").partition(";")[0].strip().lower()
        encoded = "content-encoding" in own  # judged only as sent: a compressed body is not decoded
        schema = None if encoded else response_schema(method, path, answer.status, media)
        body = AnswerBody(schema, "" if encoded else media)
        await response.prepare(request)
        held, cut = b"", answer.bad_length
        pieces = answer.pieces()
        while True:
            try:
                piece = await pieces.__anext__()
            except StopAsyncIteration:
                break
            except (AnswerCut, OSError) as error:
                cut = str(error) if isinstance(error, AnswerCut) else describe(error)
                break
            body.feed(piece)
            if tap is not None:
                tap.feed(piece)
            if held:
                await response.write(held)  # the app gone: aiohttp ends the exchange, unjudged
            held = piece
        body.finish(complete=cut is None)
        if body.pending and self._pending_bytes and self._pending_bytes + body.held_bytes > PENDING_BYTES:
            if body.ndjson:
                body.settle()  # a stream holds at most DEFERRED_LINE_BYTES: judged here and now instead
            else:
                body.pending = False
                body.not_judged = "passed on unjudged: the judge is busy with earlier large answers"
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in answer.headers}
        finished = time.monotonic()
        exchange = Exchange(method, path, kept.judged(), answer.status, headers, body, started, finished, cut)
        self._judge(exchange, self.judge.judge_use)
        if not body.pending:
            self._judge(exchange, self.judge.judge_answer)
        if tap is not None:
            tap.finish(exchange)
        if held:
            await response.write(held)
        if body.pending:  # the lines of a cut stream that came whole are judged too
            self._pending_bytes += body.held_bytes
            task = asyncio.get_running_loop().create_task(self._settle(exchange))
            self.settling.add(task)
            task.add_done_callback(self.settling.discard)
        if cut is not None:
            raise ConnectionCut
        await response.write_eof()
        return response

    async def _settle(self, exchange: Exchange) -> None:
        """Judge a large answer in the worker thread, then its rules; the serving loop goes on meanwhile."""
        held = exchange.answer.held_bytes
        try:
            await self._worker.run(exchange.answer.settle)
        except asyncio.CancelledError:
            line = f"[proxy] {exchange.method} {exchange.path}: not judged: the proxy stopped first"
            self.judge.note(line, fault=False)
            return
        finally:
            self._pending_bytes -= held
        self._judge(exchange, self.judge.judge_answer)

    def _judge(self, exchange: Exchange, judge: Callable[[Exchange], list[Violation]]) -> None:
        label = f"{exchange.method} {exchange.path}"
        if exchange.cut is not None and judge == self.judge.judge_use:
            self._fault(exchange.method, exchange.path, f"{exchange.cut} ({exchange.answer.size} bytes passed on)")
        try:
            violations = judge(exchange)
        except Exception as error:  # a bug in a rule must not cost the app its answer
            self.say(f"[proxy] {label}: could not be judged: {describe(error)}")
            return
        if exchange.answer.not_judged is not None and judge == self.judge.judge_answer:
            line = f"[proxy] {label}: {exchange.answer.not_judged} ({exchange.answer.size} bytes)"
            self.judge.note(line, fault=False)
            self.say(line)
        for violation in violations:
            self.say(violation.line())

    def _fault(self, method: str, path: str, what: str) -> None:
        line = f"[proxy] upstream {self.upstream}: {method} {path}: {what}"
        self.judge.note(line, fault=True)
        self.say(line)

    def _unreachable(self, method: str, path: str, why: str) -> web.StreamResponse:
        self._fault(method, path, f"unreachable ({why})")
        reason = f"ollama-contract proxy: upstream {self.upstream} did not answer {method} {path}: {why}"
        return web.Response(status=502, body=json.dumps({"error": reason}).encode(), content_type="application/json")


class _KeptBody:
    """The part of a request body kept for judging: all of it up to JUDGED_REQUEST_BYTES, else nothing."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0

    def take(self, body: bytes) -> bytes:
        self._parts, self._size = [body], len(body)
        return body

    async def stream(self, content: StreamReader) -> AsyncIterator[bytes]:
        async for piece in content.iter_chunked(_PIECE):
            self._size += len(piece)
            if self._size <= JUDGED_REQUEST_BYTES:
                self._parts.append(piece)
            elif self._parts:
                self._parts = []
            yield piece

    def judged(self) -> bytes:
        return b"".join(self._parts) if self._size <= JUDGED_REQUEST_BYTES else b""


async def _send_refusal(request: web.BaseRequest, refusal: Refusal) -> web.StreamResponse:
    response = refusal_answer(refusal)
    await response.prepare(request)
    if refusal.body:
        await response.write(refusal.body.encode())
    await response.write_eof()
    return response


def _origin_form(target: str) -> str:
    """The path and query of a request target (an absolute-form target's authority dropped)."""
    if target.startswith("/"):
        return target
    rest = target.partition("://")[2]
    return "/" + rest.partition("/")[2] if "/" in rest else "/"


def _connection_tokens(headers: Sequence[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names the `Connection` header lists: they belong to this connection only."""
    return frozenset(
        token.strip().lower() for name, value in headers if name.lower() == b"connection" for token in value.split(b",")
    )
