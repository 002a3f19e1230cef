"""The mock's clock: real time by default, frozen and moved by tests to check expiry without sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone, tzinfo

from ollama_contract_kit.openapi.timestamps import GoTime


def local_timezone() -> tzinfo:
    """Return the machine's local zone as the fixed offset in force now (what Go's `time.Local` prints)."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else timezone.utc


class Clock:
    """A wall clock with Go's precision that can be frozen, set and advanced; times are in the clock's zone.

    While frozen, the simulated durations of loads and generations pass without waiting (`pause` returns
    at once) and the clock stands still: answers are deterministic.
    """

    def __init__(self, zone: tzinfo | None = None) -> None:
        self.zone = zone if zone is not None else local_timezone()
        self._lock = threading.Lock()
        self._frozen_at: int | None = None
        self._offset = 0
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every freeze, resume, advance or reset (waits re-check expiries then)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def instant(self) -> GoTime:
        """The mock's current time, to the nanosecond."""
        frozen_at = self._frozen_at
        return GoTime(frozen_at if frozen_at is not None else time.time_ns() + self._offset, self.zone)

    def now(self) -> datetime:
        """The mock's current time as a datetime (to the microsecond)."""
        return self.instant().to_datetime()

    @property
    def frozen(self) -> bool:
        """True while the clock only moves when told to."""
        return self._frozen_at is not None

    def freeze(self, at: datetime | GoTime | None = None) -> datetime:
        """Stop the clock at `at` (aware) or at the current mock time; return that time."""
        with self._lock:
            if isinstance(at, datetime):
                at = GoTime.from_datetime(at)
            self._frozen_at = (at or self.instant()).nanoseconds
        self._changed()
        return self.now()

    def resume(self) -> datetime:
        """Let the clock run in real time again, from the current mock time."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time_ns()
                self._frozen_at = None
        self._changed()
        return self.now()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds` (frozen or not); return the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            step = round(seconds * 1_000_000_000)
            now = self.instant()
            if now.plus(seconds).nanoseconds - now.nanoseconds < step:
                raise ValueError("the clock cannot go past the year 9999")
            if self._frozen_at is not None:
                self._frozen_at += step
            else:
                self._offset += step
        self._changed()
        return self.now()

    def pause(self, seconds: float) -> None:
        """Let `seconds` of simulated work pass: in real time while the clock runs, at once while it is frozen."""
        if seconds > 0 and not self.frozen:
            time.sleep(seconds)

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._frozen_at = None
            self._offset = 0
        self._changed()
