"""Ollama's guards before any route: Go's own refusals of a bad `Host`, the DNS-rebinding Host check
(`allowedHostsMiddleware`, server/routes.go) and the origins CORS allows (`envconfig.AllowedOrigins`).

Pure functions of the request's raw parts, shared by the mock and `ollama-contract proxy`.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

#: How the Host check sees a request's host: an allowed IP literal, an allowed name, or neither.
ADDRESS, NAME, FOREIGN = "address", "name", "foreign"
#: Go's `httpguts.ValidHostHeader`: the only bytes a Host header may hold (else 400 before Ollama sees it).
_VALID_HOST_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$%&()*+,-.:;=[]'_~")
_LOCAL_NAME_SUFFIXES = (".localhost", ".local", ".internal")
#: Origins Ollama always allows, after those of OLLAMA_ORIGINS.
_DEFAULT_ORIGIN_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0")
_DEFAULT_ORIGIN_SCHEMES = ("app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*")
_ABSOLUTE_TARGET = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: The content type of Go's net/http answer to a request it refuses before any handler (it closes the connection).
BAD_REQUEST_TYPE = "text/plain; charset=utf-8"
MISSING_HOST, MALFORMED_HOST = "missing required Host header", "malformed Host header"


def bad_request_text(reason: str | None) -> str:
    """Go's status text and body for a request net/http refuses: `400 Bad Request: reason` (or none)."""
    return f"400 Bad Request: {reason}" if reason else "400 Bad Request"


def host_refusal(values: Sequence[bytes], http_1_1: bool, target: str = "/") -> str | None:
    """Why Go's net/http answers 400 before Ollama sees the request ("" for its plain `400 Bad Request`), or None.

    `values` are the raw Host headers as sent (none, one, or several); `target` the raw request target.
    """
    if len(values) > 1:
        return ""  # readRequest: "too many Host headers", answered without the reason
    if not values and http_1_1:
        return MISSING_HOST
    if values and not set(values[0]) <= _VALID_HOST_BYTES:
        return MALFORMED_HOST
    if _ABSOLUTE_TARGET.match(target) and _target_authority(target) is None:
        return ""  # url.ParseRequestURI refused the target
    return None


def effective_host(target: str, host_header: str) -> str:
    """The host Go's server judges (`Request.Host`): an absolute-form target's authority, else the Host header."""
    if _ABSOLUTE_TARGET.match(target):
        authority = _target_authority(target)
        if authority:
            return authority
    return host_header


def _target_authority(target: str) -> str | None:
    """The host[:port] of an absolute-form target (user info dropped), None when Go's URL parser refuses it."""
    try:
        authority = urlsplit(target).netloc.rpartition("@")[2]
    except ValueError:  # an unbalanced IPv6 bracket
        return None
    port = authority.rpartition("]")[2] if authority.startswith("[") else authority
    if ":" in port and not port.rpartition(":")[2].isdigit() and port.rpartition(":")[2] != "":
        return None  # Go's validOptionalPort: digits only, range not judged
    return authority


def split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go's `net.SplitHostPort`: (host, port) of `host:port` or `[host]:port`, None when it is neither."""
    colon = hostport.rfind(":")
    if colon < 0:
        return None
    start, end_of_host = 0, 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 != colon:
            return None
        host, start, end_of_host = hostport[1:end], 1, end + 1
    else:
        host = hostport[:colon]
        if ":" in host:
            return None
    if "[" in hostport[start:] or "]" in hostport[end_of_host:]:
        return None
    return host, hostport[colon + 1 :]


def _go_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Go's `netip.ParseAddr`, the zone of an IPv6 address dropped (the Host check's predicates ignore it)."""
    address, percent, zone = text.partition("%")
    if percent and not zone:
        return None
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    return None if percent and parsed.version == 4 else parsed


def _allowed_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, zoned: bool) -> bool:
    """netip's IsLoopback, IsPrivate (RFC 1918 and fc00::/7 only), IsUnspecified, or one of this machine's."""
    unmapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    plain = unmapped or address
    if isinstance(plain, ipaddress.IPv4Address):
        first, second = plain.packed[0], plain.packed[1]
        if first in (10, 127) or (first == 172 and second & 0xF0 == 16) or (first == 192 and second == 168):
            return True
    elif plain == ipaddress.IPv6Address("::1") or plain.packed[0] & 0xFE == 0xFC:
        return True
    if not zoned and address in (ipaddress.IPv4Address("0.0.0.0"), ipaddress.IPv6Address("::")):
        return True
    return not zoned and address in machine_addresses()  # Go compares the strings, zone included


@functools.lru_cache(maxsize=1024)
def host_kind(host: str) -> str:
    """ADDRESS, NAME or FOREIGN: how `allowedHostsMiddleware` sees a request's (effective) host.

    As Go: the port is split off when `net.SplitHostPort` can (it does not judge the port); what is
    left is an allowed IP literal, an allowed name, or foreign (403).
    """
    split = split_host_port(host)
    bare = split[0] if split is not None else host
    address = _go_address(bare)
    if address is not None and _allowed_address(address, "%" in bare):
        return ADDRESS
    lowered = bare.lower()
    if lowered in ("", "localhost", socket.gethostname().lower()) or lowered.endswith(_LOCAL_NAME_SUFFIXES):
        return NAME
    return FOREIGN


@functools.lru_cache(maxsize=1)
def machine_addresses() -> frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """This machine's interface addresses (Ollama's `isLocalIP`), read once: Linux's tables, else the host name's."""
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    try:
        candidate = None
        for line in Path("/proc/net/fib_trie").read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("|--", "+--")):
                candidate = stripped[3:].split()[0]
            elif stripped.startswith("/32 host LOCAL") and candidate:
                found.add(ipaddress.IPv4Address(candidate))
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            found.add(ipaddress.IPv6Address(int(line.split()[0], 16)))
    except (OSError, ValueError, IndexError):
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None)
        except OSError:
            infos = []
        for info in infos:
            parsed = _go_address(str(info[4][0]))
            if parsed is not None:
                found.add(parsed)
    return frozenset(found)


def is_loopback_bind(bind_host: str) -> bool:
    """True when a server listens on loopback, where Ollama applies its Host check."""
    if bind_host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(bind_host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_origins(extra: Iterable[str]) -> tuple[str, ...]:
    """The allowed origin patterns: `extra` (like OLLAMA_ORIGINS) first, then Ollama's defaults."""
    patterns = [origin.strip().lower() for origin in extra if origin.strip()]
    for host in _DEFAULT_ORIGIN_HOSTS:
        patterns += [f"http://{host}", f"https://{host}", f"http://{host}:*", f"https://{host}:*"]
    return (*patterns, *_DEFAULT_ORIGIN_SCHEMES)


def origins_from_environment() -> list[str]:
    """OLLAMA_ORIGINS read as Ollama reads it (`envconfig.Var`: spaces and quotes trimmed, split on commas)."""
    value = os.environ.get("OLLAMA_ORIGINS", "").strip().strip("\"'")
    return value.split(",") if value else []


def origin_allowed(origin: str, patterns: Iterable[str]) -> bool:
    """gin-contrib/cors matching: exact, or one `*` wildcard; a lone `*` allows all."""
    origin = origin.lower()
    for pattern in patterns:
        if pattern == "*" or pattern == origin:
            return True
        prefix, star, suffix = pattern.partition("*")
        if star and origin.startswith(prefix) and origin.endswith(suffix) and len(origin) >= len(pattern) - 1:
            return True
    return False


def is_same_origin(origin: str, host: str) -> bool:
    """gin-contrib/cors treats `http(s)://<Host>` as same-origin: no CORS processing."""
    return origin in (f"http://{host}", f"https://{host}")
