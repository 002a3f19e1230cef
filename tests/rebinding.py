"""The DNS-rebinding matrix: Host and Origin forms as raw HTTP/1.1 requests, and what Ollama answers each.

Statuses are Ollama's on a loopback bind, from its source (ollama/ollama v0.33.0-rc2, fb3076099) and
Go's net/http:
- 400: Go's server refuses the request before Ollama sees it: more than one Host ("too many Host
  headers", net/http request.go readRequest), none on HTTP/1.1 ("missing required Host header") or
  a byte outside httpguts.ValidHostHeader's set ("malformed Host header", net/http server.go).
- 403: `allowedHostsMiddleware` (server/routes.go L1803-1839): the host (an absolute-form target's
  authority, else the header; port split off by net.SplitHostPort) is not a loopback, private
  (RFC 1918, fc00::/7) or unspecified IP, not one of the machine's, not "", "localhost", the host
  name, nor a name under .localhost, .local or .internal. Also a cross-origin Origin that
  gin-contrib/cors does not allow (envconfig.AllowedOrigins, L86).
- 200: everything else.
"""

from __future__ import annotations

import ipaddress
import socket
from contextlib import closing
from dataclasses import dataclass

from ollama_contract_kit.openapi.hosts import machine_addresses


def _foreign_test_net_address() -> str:
    """An address of TEST-NET-1 (192.0.2.0/24) that is not this machine's (Go's isLocalIP would allow that)."""
    ours = machine_addresses()
    return next(f"192.0.2.{n}" for n in range(10, 250) if ipaddress.IPv4Address(f"192.0.2.{n}") not in ours)


@dataclass(frozen=True)
class Form:
    """One way of naming the host (and origin) of a request, and Ollama's status for it."""

    name: str
    hosts: tuple[bytes, ...]  # the raw values of the request's Host headers
    ollama: int
    target_authority: str | None = None  # an absolute-form target `http://<authority>/path`
    origin: str | None = None
    #: granian's WSGI hands over neither the raw target nor the raw Host bytes: where the mock on it differs.
    granian: int | None = None

    def request(self, method: str, path: str, body: bytes = b"", extra: bytes = b"") -> bytes:
        """The raw request, closing the connection after its answer."""
        target = f"http://{self.target_authority}{path}" if self.target_authority else path
        lines = [f"{method} {target} HTTP/1.1".encode()] + [b"Host: " + host for host in self.hosts]
        if self.origin is not None:
            lines.append(f"Origin: {self.origin}".encode())
        if body or method == "POST":
            lines += [b"Content-Type: application/json", f"Content-Length: {len(body)}".encode()]
        return b"\r\n".join([*lines, b"Connection: close" + extra, b"", b""]) + body


FORMS = [
    Form("localhost with port", (b"localhost:11434",), 200),
    Form("loopback address", (b"127.0.0.1:11434",), 200),
    Form("IPv6 loopback with port", (b"[::1]:11434",), 200),
    Form("IPv6 loopback, zone id", (b"[::1%25lo]:11434",), 200),
    Form("bare IPv6 loopback", (b"::1",), 200),
    Form("private address", (b"10.1.2.3",), 200),
    Form("unspecified address", (b"0.0.0.0",), 200),
    Form(".local name", (b"box.local",), 200),
    Form(".internal name", (b"host.docker.internal",), 200),
    Form("empty Host", (b"",), 200, granian=400),
    Form("foreign name", (b"evil.example",), 403),
    Form("foreign name with port", (b"evil.example:11434",), 403),
    Form("public address", (b"8.8.8.8:11434",), 403),
    Form("IPv6 loopback without a port (SplitHostPort fails)", (b"[::1]",), 403),
    Form("link-local address", (b"169.254.1.1",), 403),
    Form("TEST-NET address", (_foreign_test_net_address().encode(),), 403),
    Form("link-local IPv6 with zone id", (b"[fe80::1%25eth0]:11434",), 403),
    Form("a local name with a trailing dot", (b"box.local.",), 403),
    Form("bracket junk", (b"[::1]evil.example",), 403),
    Form("user info", (b"127.0.0.1@evil.example",), 400),
    Form("a space", (b"evil example",), 400),
    Form("not ASCII", ("évil.example".encode(),), 400),
    Form("no Host", (), 400),
    Form("two Hosts", (b"localhost", b"evil.example"), 400, granian=403),
    Form("absolute target to localhost, foreign header", (b"evil.example",), 200, "localhost:11434", granian=403),
    Form("absolute target to a foreign host, local header", (b"localhost",), 403, "evil.example", granian=200),
    Form("foreign Origin", (b"127.0.0.1:11434",), 403, origin="https://evil.example"),
    Form("default Origin", (b"127.0.0.1:11434",), 200, origin="http://localhost:5173"),
    Form("same-origin foreign Origin", (b"evil.example",), 403, origin="http://evil.example"),
    Form("null Origin", (b"localhost",), 403, origin="null"),
]
#: What a rebinding page asks: reads (models, running models) and a pull, none with an Origin of its own.
REQUESTS = [("GET", "/api/tags", b""), ("GET", "/api/ps", b""), ("POST", "/api/pull", b'{"model": "no/such:model"}')]


def exchange(port: int, data: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes to a loopback port; everything answered until the server closes."""
    with closing(socket.create_connection(("127.0.0.1", port), timeout=wait)) as connection:
        connection.sendall(data)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 when there is none)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
