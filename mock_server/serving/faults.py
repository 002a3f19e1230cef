"""Deliberate misbehaviour per route, so users can test their client's resilience."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, replace
from typing import Any

from ollama_contract_kit.openapi import validator_for

#: Per-request fault header: `latency=250`, `status=503`, `truncate`, `malformed`, `drop` (comma-separated).
FAULT_HEADER = "X-Ollama-Mock-Fault"

_STATUS_ERRORS = {
    400: "invalid request",
    401: "unauthorized",
    403: "forbidden",
    404: "model not found",
    429: "too many requests",
    499: "request canceled",
    500: "llama runner process has terminated: exit status 2",
    502: "bad gateway",
    503: "server busy, please try again.  maximum pending requests exceeded",
    504: "gateway timeout",
}


#: Digits a header value may have: any more is far beyond the schema's maximum (and Python's int() limit).
_MAX_DIGITS = 18


class FaultError(ValueError):
    """A fault description is not valid."""


class FaultKind(str, enum.Enum):
    """What goes wrong."""

    LATENCY = "latency"
    STATUS = "status"
    TRUNCATE = "truncate"
    MALFORMED = "malformed"
    DROP = "drop"


@dataclass(frozen=True)
class Fault:
    """One fault: a route (`GET /api/ps` or `*`), a kind, its value, and how often it fires."""

    route: str
    kind: FaultKind
    value: int | None = None
    times: int | None = None

    def applies_to(self, method: str, path: str) -> bool:
        """True when this fault covers a request."""
        return self.route == "*" or self.route == f"{method} {path}"

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        data: dict[str, Any] = {"route": self.route, "kind": self.kind.value}
        if self.value is not None:
            data["value"] = self.value
        if self.times is not None:
            data["times"] = self.times
        return data


def status_error_text(status: int) -> str:
    """The Ollama-style error text a status fault answers with."""
    return _STATUS_ERRORS.get(status, f"injected fault: HTTP {status}")


def fault_from_json(data: Any, origin: str = "fault") -> Fault:
    """Build a fault from control-API JSON, checked against the contract's `Fault` schema."""
    problems = validator_for("control", "Fault").problems(data)
    if problems:
        raise FaultError(f"{origin}: {problems[0]}")
    fault = Fault(route=data["route"], kind=FaultKind(data["kind"]), value=data.get("value"), times=data.get("times"))
    if fault.kind in (FaultKind.LATENCY, FaultKind.STATUS) and fault.value is None:
        raise FaultError(f"{origin}: a {fault.kind.value} fault needs a value")
    if fault.kind is FaultKind.STATUS and not 400 <= (fault.value or 0) <= 599:
        raise FaultError(f"{origin}: a status fault needs an HTTP error status from 400 to 599, not {fault.value}")
    return fault


def parse_fault_option(text: str) -> Fault:
    """Parse `--fault 'ROUTE=KIND[:VALUE][,times=N]'`, e.g. `GET /api/ps=status:503,times=2`."""
    route, equals, action = text.rpartition("=") if ",times=" not in text else text.partition("=")
    if not equals:
        raise FaultError(f"--fault {text!r}: expected ROUTE=KIND[:VALUE][,times=N], e.g. 'GET /api/ps=status:503'")
    action, _, times = action.partition(",times=")
    kind, _, value = action.partition(":")
    data: dict[str, Any] = {"route": route.strip(), "kind": kind.strip()}
    try:
        if value:
            data["value"] = int(value)
        if times:
            data["times"] = int(times)
    except ValueError:
        raise FaultError(f"--fault {text!r}: the value and times must be whole numbers") from None
    return fault_from_json(data, f"--fault {text!r}")


def parse_fault_header(text: str, method: str, path: str) -> list[Fault]:
    """Parse the per-request fault header (`status=503`, `latency=200,truncate`) into one-shot faults."""
    faults = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, _, value = item.partition("=")
        data: dict[str, Any] = {"route": f"{method} {path}", "kind": kind.strip(), "times": 1}
        digits = value.strip()
        if digits:
            if not (digits.isascii() and digits.isdigit()):
                raise FaultError(f"{FAULT_HEADER}: {item!r} needs a whole number after '='")
            if len(digits.lstrip("0")) > _MAX_DIGITS:
                raise FaultError(f"{FAULT_HEADER}: the value of {kind.strip()!r} has {len(digits):,} digits; too large")
            data["value"] = int(digits)
        faults.append(fault_from_json(data, FAULT_HEADER))
    return faults


class FaultBook:
    """The faults in force, shared by every request thread."""

    def __init__(self, faults: tuple[Fault, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._initial = faults
        self._faults: list[Fault] = list(faults)
        self._routes: tuple[str, ...] = ()

    def serve_only(self, routes: tuple[str, ...]) -> None:
        """Refuse faults for any route but these (`GET /api/ps`, ...) or `*`; checks the start-up faults too."""
        self._routes = routes
        for fault in self._initial:
            self.check_route(fault)

    def check_route(self, fault: Fault) -> None:
        """Raise FaultError when `fault` names a route the mock does not serve (it would never fire)."""
        if self._routes and fault.route != "*" and fault.route not in self._routes:
            raise FaultError(
                f"no route {fault.route!r}: a fault never fires there; use '*' or one of: {', '.join(self._routes)}"
            )

    def add(self, fault: Fault) -> None:
        """Add a fault; it fires from the next matching request."""
        self.check_route(fault)
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Back to the faults given at start-up (`--fault`)."""
        with self._lock:
            self._faults = list(self._initial)

    def any(self) -> bool:
        """True while any fault is in force (read without locking: a hint for the fast path)."""
        return bool(self._faults)

    def listed(self) -> list[Fault]:
        """The faults in force, oldest first."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request, counting down (and dropping) the limited ones."""
        with self._lock:
            if not self._faults:
                return []
            firing, kept = [], []
            for fault in self._faults:
                if fault.applies_to(method, path):
                    firing.append(fault)
                    if fault.times is not None:
                        if fault.times > 1:
                            kept.append(replace(fault, times=fault.times - 1))
                        continue
                kept.append(fault)
            self._faults = kept
            return firing
