"""Recorded exchanges with a server: the request, and the raw answer it gave (status, headers, body).

A capture file holds one exchange: `### METHOD PATH`, optionally `### body: <request body>`, a
blank line, then the answer as it came off the socket: status line, headers, a blank line and the
body. A body sent with `Transfer-Encoding: chunked` may be stored chunked or already de-chunked.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

_REQUEST_LINE = re.compile(r"^### (?P<method>[A-Z]+) (?P<path>\S+)$")
_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (?P<status>[0-9]{3})(?: .*)?$")
_CHUNK_SIZE = re.compile(rb"^[0-9a-fA-F]+(?:;[^\r\n]*)?$")


class CaptureError(ValueError):
    """A capture file is not one recorded exchange; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Request:
    """What the client sent: method, path (with any query) and body (None when it sent none)."""

    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class Answer:
    """What a server answered: the status, the headers in the order sent, and the body (de-chunked)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of the first header called `name` (case-insensitive), if any."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class Capture:
    """One recorded exchange, named after its file (`06_generate_tiny`)."""

    name: str
    request: Request
    answer: Answer


def read_capture(path: Path) -> Capture:
    """Read one capture file, raising CaptureError naming the file on anything malformed."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CaptureError(f"{path}: cannot read it: {error.strerror or error}") from None
    return parse_capture(data, path.stem, str(path))


def read_captures(folder: Path) -> list[Capture]:
    """Every `*.txt` capture of `folder`, in file-name order (the order they were recorded in)."""
    return [read_capture(path) for path in sorted(folder.glob("*.txt")) if _REQUEST_LINE.match(_first_line(path))]


def _first_line(path: Path) -> str:
    with path.open("rb") as file:
        return file.readline().decode("utf-8", "replace").rstrip("\r\n")


def parse_capture(data: bytes, name: str, source: str = "") -> Capture:
    """Parse the bytes of a capture file (see the module docstring)."""
    where = source or name
    request_part, separator, answer_part = data.partition(b"\n\n")
    if not separator:
        raise CaptureError(f"{where}: no blank line between the request and the answer")
    lines = request_part.decode("utf-8").split("\n")
    matched = _REQUEST_LINE.match(lines[0])
    if matched is None:
        raise CaptureError(f"{where}: line 1 is {lines[0]!r}, not '### METHOD PATH'")
    body: bytes | None = None
    for line in lines[1:]:
        if not line.startswith("### body: "):
            raise CaptureError(f"{where}: {line!r} is neither '### body: ...' nor the blank line before the answer")
        body = line.removeprefix("### body: ").encode("utf-8")
    request = Request(matched["method"], matched["path"], body)
    return Capture(name, request, parse_answer(answer_part, where, head_only=request.method == "HEAD"))


def parse_answer(data: bytes, where: str = "answer", head_only: bool = False) -> Answer:
    """Parse a raw HTTP/1.x answer: status line, headers, blank line, body (de-chunked when chunked)."""
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        raise CaptureError(f"{where}: the answer has no blank line (CRLF CRLF) after its headers")
    status_line, *header_lines = head.split(b"\r\n")
    status = _STATUS_LINE.match(status_line)
    if status is None:
        raise CaptureError(f"{where}: {status_line[:60]!r} is not an HTTP/1.x status line")
    headers = []
    for line in header_lines:
        key, colon, value = line.decode("latin-1").partition(":")
        if not colon or not key or key != key.strip():
            raise CaptureError(f"{where}: {line[:60]!r} is not a header line")
        headers.append((key, value.strip()))
    answer = Answer(int(status["status"]), tuple(headers), b"" if head_only else body)
    if (answer.header("Transfer-Encoding") or "").lower() == "chunked" and _looks_chunked(answer.body):
        return Answer(answer.status, answer.headers, _dechunk(answer.body, where))
    return answer


def _looks_chunked(body: bytes) -> bool:
    size_line, separator, _ = body.partition(b"\r\n")
    return bool(separator) and _CHUNK_SIZE.match(size_line) is not None and body.endswith(b"0\r\n\r\n")


def _dechunk(body: bytes, where: str) -> bytes:
    pieces: list[bytes] = []
    offset = 0
    while True:
        end = body.find(b"\r\n", offset)
        size_text = body[offset:end].split(b";", 1)[0]
        try:
            size = int(size_text, 16)
        except ValueError:
            raise CaptureError(f"{where}: chunk size {size_text[:20]!r} at byte {offset} is not hexadecimal") from None
        if size == 0:
            return b"".join(pieces)
        start = end + 2
        pieces.append(body[start : start + size])
        if body[start + size : start + size + 2] != b"\r\n":
            raise CaptureError(f"{where}: the chunk at byte {offset} is not followed by CRLF")
        offset = start + size + 2


def replay(request: Request, base_url: str, timeout: float = 30.0) -> Answer:
    """Send `request` to the server at `base_url` (`http://host:port`, a path prefix allowed) and return its
    answer as raw as HTTP allows: headers in the order sent, the body de-chunked."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    headers = {"Content-Type": "application/json"} if request.body is not None else {}
    try:
        connection.request(request.method, parts.path.rstrip("/") + request.path, body=request.body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, tuple(response.getheaders()), response.read())
    finally:
        connection.close()
