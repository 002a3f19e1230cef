"""Time in the simulation: how long loads and tokens take, and a request's stopwatch.

Loads take the runner's start-up plus its size over a load speed (cold); a loaded runner is handed
over after a millisecond (warm). Tokens come at a steady rate, the prompt ten times faster. While the
mock's clock runs, that time really passes (a stream arrives over time); while it is frozen nothing
waits, and timestamps and durations are the simulated ones, so answers are deterministic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ollama_contract_kit.openapi.timestamps import GoTime

from .clock import Clock

#: The shortest duration a timing reports: Ollama leaves zero durations out of its answers.
_MINIMUM_SECONDS = 1e-6
#: Real sleeps are taken in steps of at least this long.
_SLEEP_GRAIN_SECONDS = 0.001


@dataclass(frozen=True)
class Pace:
    """How fast the simulated machine works; every figure is configurable (`ollama-mock --help`)."""

    #: Tokens generated a second (0: as fast as possible).
    tokens_per_second: float = 100.0
    #: Bytes of a runner loaded a second (0: loads take no time at all).
    load_bytes_per_second: float = 32e9
    #: Seconds a new runner takes to start before its weights load.
    start_seconds: float = 0.02
    #: Seconds to hand over a runner that is loaded already.
    warm_seconds: float = 0.001

    @classmethod
    def instant(cls) -> Pace:
        """No waiting: loads and tokens take no time (answers still report durations, never zero)."""
        return cls(tokens_per_second=0, load_bytes_per_second=0)

    def load_seconds(self, size: int) -> float:
        """How long loading a runner of `size` bytes takes (start-up, then the bytes at the load speed)."""
        if self.load_bytes_per_second <= 0:
            return 0.0
        return self.start_seconds + size / self.load_bytes_per_second

    @property
    def handover_seconds(self) -> float:
        """How long handing over a runner that is loaded already takes (nothing when loads take no time)."""
        return self.warm_seconds if self.load_bytes_per_second > 0 else 0.0

    @property
    def token_seconds(self) -> float:
        """Seconds between two generated tokens."""
        return 1 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0

    def prompt_seconds(self, tokens: int) -> float:
        """How long reading a prompt of `tokens` takes (ten times the generation rate)."""
        return max(_MINIMUM_SECONDS, tokens * self.token_seconds / 10)


class Stopwatch:
    """One request's time: started when it arrived, moved by the simulated work it waits for.

    `elapsed` is real time while the clock runs (waits for other requests included), else the
    simulated time alone; `stamp` is the moment to write on what the request sends now.
    """

    def __init__(self, clock: Clock, pace: Pace, *, simulated_only: bool = False) -> None:
        self.clock = clock
        self.pace = pace
        self.started = clock.instant()
        self._started_monotonic = time.monotonic()
        self._simulated = 0.0
        self._unslept = 0.0
        self._simulated_only = simulated_only

    def pause(self, seconds: float) -> None:
        """Let `seconds` of work pass (in real time unless the clock is frozen)."""
        if seconds <= 0:
            return
        self._simulated += seconds
        if self._simulated_only:
            return
        # Sleeps shorter than the grain are saved up: a sleep costs more than a fast token takes.
        self._unslept += seconds
        if self._unslept >= _SLEEP_GRAIN_SECONDS:
            self.clock.pause(self._unslept)
            self._unslept = 0.0

    def elapsed(self) -> float:
        """Seconds since the request arrived, as the simulation counts them."""
        if self.clock.frozen or self._simulated_only:
            return max(_MINIMUM_SECONDS, self._simulated)
        return max(_MINIMUM_SECONDS, self._simulated, time.monotonic() - self._started_monotonic)

    def stamp(self) -> GoTime:
        """The moment now, for a timestamp: the clock's, or the frozen moment plus the simulated work."""
        if self.clock.frozen or self._simulated_only:
            return self.started.plus(self._simulated)
        return self.clock.instant()
