"""How the `truncate` and `drop` faults break a connection, the same way every time on either server.

waitress sends what the app yields as it comes, so a body that raises after half of it aborts the
connection after that half, and `drop` can close the socket before any byte. granian (hyper) may
throw away bytes not yet written when a body raises, so it sent sometimes half the body, sometimes
nothing at all; there the fault's answer goes out whole, shorter than its `Content-Length` says, on
a connection its headers say is closing.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from typing import Any

#: The environ key waitress adds (a callable bound to the request's channel, which holds the socket).
_WAITRESS_CHANNEL = "waitress.client_disconnected"


def closes_by_header(environ: dict[str, Any]) -> bool:
    """True where a broken answer needs `Connection: close` (every server but waitress, which aborts itself)."""
    return _WAITRESS_CHANNEL not in environ


def truncated(environ: dict[str, Any], result: Iterable[bytes], cut: int) -> Iterable[bytes]:
    """The first `cut` bytes of the body (the headers promise all of it), then the connection closes."""
    body = b"".join(result)[:cut]
    return [body] if closes_by_header(environ) else _aborted_after(body)


def dropped(environ: dict[str, Any], result: Iterable[bytes]) -> Iterable[bytes]:
    """Close the connection: with waitress before any answer; elsewhere right after the headers."""
    channel = getattr(environ.get(_WAITRESS_CHANNEL), "__self__", None)
    sock = getattr(channel, "socket", None)
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return result
    return truncated(environ, result, 0)


def _aborted_after(body: bytes) -> Iterator[bytes]:
    yield body
    raise ConnectionAbortedError("ollama-mock cut the body short (truncate fault)")
