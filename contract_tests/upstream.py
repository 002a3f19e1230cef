"""The proxy's side toward the upstream: HTTP/1.1 over a pool of kept-alive connections (asyncio streams).

Lean on purpose (measured: aiohttp's client cost about 340 µs a request, more than the whole mock),
and lenient where a proxy must be: an answer's status and headers are handed over even when its
framing is broken (`Content-Length: abc`), so the app gets the same status and the same broken end.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

#: Seconds to wait for a connection, and for each piece of an answer.
CONNECT_TIMEOUT, READ_TIMEOUT = 10.0, 600.0
#: An answer's status line and headers larger than this are refused as broken.
HEAD_LIMIT = 1024 * 1024
_PIECE = 256 * 1024
_IDLE_KEPT = 256
#: The longest chunk size line or trailer line taken (Go's net/http allows 4 KiB).
_LINE_LIMIT = 64 * 1024
_HEX = re.compile(rb"[0-9A-Fa-f]+")
#: Where a chunked body's decoder stands when it is not reading a chunk's data: a size line comes next, or trailers.
_SIZE_LINE, _TRAILERS = -1, -2


class UpstreamError(Exception):
    """The upstream gave no usable answer: unreachable (`refused`), or the connection broke before the head."""

    def __init__(self, reason: str, refused: bool = False, before_answer: bool = False) -> None:
        super().__init__(reason)
        self.refused = refused
        self.before_answer = before_answer


class AnswerCut(Exception):
    """The answer's body ended before its framing said it would (the message says how)."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reused = False

    def close(self) -> None:
        self.writer.transport.abort()

    async def read(self, size: int) -> bytes:
        timer = asyncio.get_running_loop().call_later(READ_TIMEOUT, self.writer.transport.abort)
        try:
            return await self.reader.read(size)
        finally:
            timer.cancel()

    async def read_head(self) -> bytes:
        timer = asyncio.get_running_loop().call_later(READ_TIMEOUT, self.writer.transport.abort)
        try:
            return await self.reader.readuntil(b"\r\n\r\n")
        finally:
            timer.cancel()


class Answer:
    """An answer's head as sent, and its body as pieces (`pieces()`, once)."""

    def __init__(self, pool: UpstreamPool, connection: _Connection, head: bytes, no_body: bool) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise UpstreamError(f"not an HTTP answer: {lines[0][:80]!r}")
        self.status, self.reason = int(code), reason.decode("latin-1")
        self.headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and self.headers:  # an obsolete folded line continues the last
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + b" " + line.strip())
            elif line:
                name, _, value = line.partition(b":")
                self.headers.append((name.strip(), value.strip()))
        self._pool, self._connection = pool, connection
        encodings = b",".join(value for name, value in self.headers if name.lower() == b"transfer-encoding")
        lengths = {value for name, value in self.headers if name.lower() == b"content-length"}
        self.chunked = not no_body and encodings.rstrip().lower().endswith(b"chunked")
        self.length: int | None = 0 if no_body else None
        #: Why the answer's length cannot be read (it is then read until the upstream closes), or None.
        self.bad_length: str | None = None
        if not no_body and not self.chunked and lengths:
            value = lengths.pop() if len(lengths) == 1 else b""
            if value.isdigit():
                self.length = int(value)
            else:
                self.bad_length = f"Content-Length {b', '.join(sorted(lengths | {value}))!r} is not one number"
        self._done = False
        self._stray = False  # bytes followed the body: the connection is not used again

    def header(self, name: bytes) -> str | None:
        """The first value of a header (name in lower case), as text."""
        return next((value.decode("latin-1") for key, value in self.headers if key.lower() == name), None)

    async def pieces(self) -> AsyncIterator[bytes]:
        """The body's pieces as they arrive; AnswerCut when it ends short of its framing."""
        connection = self._connection
        if self.chunked:
            async for piece in self._chunks():
                yield piece
        elif self.length is not None:
            left = self.length
            while left:
                piece = await connection.read(min(left, _PIECE))
                if not piece:
                    raise AnswerCut(f"connection closed after {self.length - left} of {self.length} bytes")
                left -= len(piece)
                yield piece
        else:
            while piece := await connection.read(_PIECE):
                yield piece
        self._done = True

    async def _chunks(self) -> AsyncIterator[bytes]:
        """Chunked framing decoded from what has arrived: the data of the chunks that came together is one
        piece (one write on to the app, where a chunk each cost a system call each), and a long chunk's
        data is passed on as it arrives."""
        connection = self._connection
        pending = bytearray()
        left = _SIZE_LINE  # or the data bytes of this chunk still to come; 0: its closing CRLF comes next
        while True:
            ready = bytearray()
            try:
                while left != _TRAILERS:
                    if left > 0:
                        if not pending:
                            break
                        taken = pending[:left]
                        del pending[:left]
                        left -= len(taken)
                        ready += taken
                        continue
                    line = _line(pending)
                    if line is None:
                        break
                    if left == 0 and line.strip():
                        raise AnswerCut(f"chunk data longer than its size: {line[:40]!r}")
                    left = _SIZE_LINE if left == 0 else _chunk_size(line) or _TRAILERS
            except AnswerCut:
                if ready:
                    yield bytes(ready)  # what came whole before the broken framing is passed on
                raise
            if left == _TRAILERS:
                if ready:
                    yield bytes(ready)
                await self._skip_trailers(pending)
                return
            if ready:
                yield bytes(ready)
            data = await connection.read(_PIECE)
            if not data:
                if left == _SIZE_LINE and pending.strip():  # a last size line the upstream never ended
                    left = _chunk_size(bytes(pending)) or _TRAILERS
                if left == _TRAILERS:
                    return
                raise AnswerCut("connection closed mid-chunk" if left > 0 else "connection closed mid-stream")
            pending += data

    async def _skip_trailers(self, pending: bytearray) -> None:
        """Read past the trailers that end a chunked body. Bytes after them (no HTTP/1.1 upstream sends any
        before the next request) keep the connection from being used again."""
        while True:
            line = _line(pending)
            if line is not None:
                if not line.strip():
                    self._stray = bool(pending)
                    return
                continue
            data = await self._connection.read(_PIECE)
            if not data:
                return  # the trailers cut short: the body itself came whole
            pending += data

    def release(self) -> None:
        """Give the connection back to the pool when the answer was read whole and framed; else close it."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None  # type: ignore[assignment]
        framed = self.chunked or self.length is not None
        reusable = self._done and framed and not self._stray and not connection.reader.at_eof()
        closing = any(name.lower() == b"connection" and b"close" in value.lower() for name, value in self.headers)
        if reusable and not closing:
            self._pool.put(connection)
        else:
            connection.close()


def _line(pending: bytearray) -> bytes | None:
    """The first line of `pending`, taken out of it; None while it has not ended (AnswerCut past LINE_LIMIT)."""
    end = pending.find(b"\n", 0, _LINE_LIMIT)
    if end < 0:
        if len(pending) >= _LINE_LIMIT:
            raise AnswerCut(f"a chunk size or trailer line over {_LINE_LIMIT} bytes")
        return None
    line = bytes(pending[: end + 1])
    del pending[: end + 1]
    return line


def _chunk_size(line: bytes) -> int:
    """The size a chunk's size line gives (its extensions ignored); AnswerCut when it gives none."""
    text = line.split(b";", 1)[0].strip()
    if not _HEX.fullmatch(text):
        raise AnswerCut(f"bad chunk size {line[:40]!r}")
    return int(text, 16)


class UpstreamPool:
    """Connections to one upstream (`http://host:port` or `https://…`), kept alive between requests."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self._context = ssl.create_default_context() if self.tls else None
        self._idle: list[_Connection] = []

    def put(self, connection: _Connection) -> None:
        """Keep a connection for the next request (closing it when enough are kept)."""
        connection.reused = True
        if len(self._idle) < _IDLE_KEPT:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()

    async def _connect(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof() and not connection.writer.transport.is_closing():
                return connection
            connection.close()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self._context,
                    server_hostname=self.host if self.tls else None,
                    limit=HEAD_LIMIT,
                ),
                CONNECT_TIMEOUT,
            )
        except (OSError, asyncio.TimeoutError) as error:
            raise UpstreamError(describe(error), refused=True) from None
        return _Connection(reader, writer)

    async def request(self, method: str, target: str, head: bytes, body: bytes | AsyncIterator[bytes] | None) -> Answer:
        """Send a request (`head`: its header lines, CRLF-terminated) and read the answer's head.

        A held body (or none) is sent again once on a fresh connection when a kept-alive one turns out
        closed before any byte of the answer (the upstream never saw the request).
        """
        for attempt in (1, 2):
            connection = await self._connect()
            try:
                return await self._exchange(connection, method, target, head, body)
            except (OSError, UpstreamError) as error:
                connection.close()
                unseen = isinstance(error, OSError) or (isinstance(error, UpstreamError) and error.before_answer)
                if connection.reused and attempt == 1 and unseen and not isinstance(body, AsyncIterator):
                    continue
                if isinstance(error, UpstreamError):
                    raise
                raise UpstreamError(
                    f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                ) from None
        raise AssertionError("unreachable")

    async def _exchange(
        self, connection: _Connection, method: str, target: str, head: bytes, body: bytes | AsyncIterator[bytes] | None
    ) -> Answer:
        writer = connection.writer
        request_line = f"{method} {target} HTTP/1.1\r\n".encode("latin-1")
        if isinstance(body, AsyncIterator):
            streamed = b"content-length:" not in head.lower()
            writer.write(request_line + head + (b"Transfer-Encoding: chunked\r\n\r\n" if streamed else b"\r\n"))
            async for piece in body:
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if streamed else piece)
                await writer.drain()
            if streamed:
                writer.write(b"0\r\n\r\n")
        else:
            writer.write(request_line + head + b"\r\n" + (body or b""))
        await writer.drain()
        while True:
            try:
                raw = await connection.read_head()
            except asyncio.LimitOverrunError:
                raise UpstreamError(f"an answer head over {HEAD_LIMIT} bytes") from None
            except asyncio.IncompleteReadError as error:
                if error.partial:
                    raise UpstreamError(f"connection closed in the answer's head: {error.partial[:80]!r}") from None
                raise UpstreamError("connection closed before any answer", before_answer=True) from None
            answer = Answer(self, connection, raw[:-4], no_body=method == "HEAD")
            if answer.status >= 200 or answer.status == 101:
                break  # 1xx informational answers are skipped
        if answer.status in (204, 304) or 100 <= answer.status < 200:
            answer.length, answer.chunked, answer.bad_length = 0, False, None
        return answer


def describe(error: BaseException) -> str:
    """A short reason for a failure, without a traceback."""
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
