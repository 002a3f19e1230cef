"""The proxy's door: Ollama's rules on the raw request (Go's Host refusals, CORS origins, the Host check),
judged before anything is forwarded, so a request Ollama would refuse never reaches the upstream (nor
gets the `--headers` credentials)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ollama_contract_kit.openapi.hosts import (
    FOREIGN,
    allowed_origins,
    bad_request_text,
    effective_host,
    host_kind,
    host_refusal,
    is_same_origin,
    origin_allowed,
    origins_from_environment,
    split_host_port,
)


@dataclass(frozen=True)
class Refusal:
    """What Ollama (or Go's net/http in front of it) answers instead: a status and a plain-text body."""

    status: int
    body: str = ""

    @property
    def reason(self) -> str:
        """The status line's reason: Go's `400 Bad Request: why` keeps its why there too."""
        return self.body.removeprefix("400 ") if self.status == 400 and self.body else ""


class RequestGuard:
    """Ollama's rules before routing: judges a request's raw target and headers.

    `check_host`: the proxy listens on loopback, where Ollama applies its DNS-rebinding Host check;
    `allowed_hosts`: names (or addresses) the operator allows besides, compared without the port.
    """

    def __init__(self, check_host: bool, allowed_hosts: Iterable[str] = (), origins: Iterable[str] | None = None):
        self.check_host = check_host
        self.allowed_hosts = frozenset(host.strip().lower().strip("[]") for host in allowed_hosts if host.strip())
        self.origins = allowed_origins(origins_from_environment() if origins is None else origins)

    def judge(
        self, method: str, target: str, http_1_1: bool, headers: Sequence[tuple[bytes, bytes]]
    ) -> tuple[Refusal | None, str]:
        """The refusal Ollama would give (None: forward it), and the host to forward as `Host`."""
        hosts = [value for name, value in headers if name.lower() == b"host"]
        reason = host_refusal(hosts, http_1_1, target)
        if reason is not None:
            return Refusal(400, bad_request_text(reason)), ""
        host = effective_host(target, hosts[0].decode("ascii") if hosts else "")
        origin = next((value.decode("latin-1") for name, value in headers if name.lower() == b"origin"), None)
        if origin and not is_same_origin(origin, host):
            if not origin_allowed(origin, self.origins):
                return Refusal(403), host
            if method == "OPTIONS":
                return None, host  # a preflight: CORS answers it, the Host check never runs
        if self.check_host and host_kind(host) == FOREIGN and not self._allowed(host):
            return Refusal(403), host
        return None, host

    def _allowed(self, host: str) -> bool:
        split = split_host_port(host)
        return (split[0] if split is not None else host).lower().strip("[]") in self.allowed_hosts
