"""The mock's clock: real time by default, frozen and moved by tests to check expiry without sleeping."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone, tzinfo


def local_timezone() -> tzinfo:
    """Return the machine's local zone as the fixed offset in force now (what Go's `time.Local` prints)."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else timezone.utc


class Clock:
    """A wall clock that can be frozen, set and advanced; times are aware, in the clock's zone."""

    def __init__(self, zone: tzinfo | None = None) -> None:
        self.zone = zone if zone is not None else local_timezone()
        self._lock = threading.Lock()
        self._frozen_at: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """The mock's current time."""
        frozen_at = self._frozen_at
        if frozen_at is not None:
            return frozen_at
        return datetime.now(self.zone) + self._offset

    @property
    def frozen(self) -> bool:
        """True while the clock only moves when told to."""
        return self._frozen_at is not None

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at `at` (aware) or at the current mock time; return that time."""
        with self._lock:
            moment = at if at is not None else self.now()
            if moment.tzinfo is None:
                raise ValueError("the clock needs an aware datetime (with a zone)")
            self._frozen_at = moment.astimezone(self.zone)
            return self._frozen_at

    def resume(self) -> datetime:
        """Let the clock run in real time again, from the current mock time."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - datetime.now(self.zone)
                self._frozen_at = None
            return self.now()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds` (frozen or not); return the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            try:
                step = timedelta(seconds=seconds)
                if self._frozen_at is not None:
                    self._frozen_at += step
                else:
                    self._offset += step
                return self.now()
            except OverflowError:
                raise ValueError("the clock cannot go past the year 9999") from None

    def reset(self) -> None:
        """Back to real time."""
        with self._lock:
            self._frozen_at = None
            self._offset = timedelta(0)
