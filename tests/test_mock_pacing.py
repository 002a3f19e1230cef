"""How the simulated machine's pace turns into real waiting: short sleeps saved up, none when instant."""

from __future__ import annotations

import pytest

from ollama_contract_kit.mock_server.simulation.clock import Clock
from ollama_contract_kit.mock_server.simulation.pacing import Pace, Stopwatch


class RecordingClock(Clock):
    """A running clock that records the real sleeps asked of it instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    def pause(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_tokens_faster_than_a_sleep_are_slept_in_millisecond_steps() -> None:
    clock = RecordingClock()
    watch = Stopwatch(clock, Pace(tokens_per_second=50_000))
    for _ in range(1000):
        watch.pause(watch.pace.token_seconds)
    assert sum(clock.sleeps) == pytest.approx(0.02)
    assert len(clock.sleeps) == 20  # 20 µs a token: one sleep for every 50 tokens, not 1,000 sleeps
    assert watch.elapsed() > 0.0199  # the simulated time counts every token


def test_as_fast_as_possible_never_sleeps_yet_reports_durations() -> None:
    clock = RecordingClock()
    pace = Pace.instant()
    watch = Stopwatch(clock, pace)
    watch.pause(pace.prompt_seconds(10))
    for _ in range(10_000):
        watch.pause(pace.token_seconds)
    watch.pause(pace.handover_seconds)
    watch.pause(pace.load_seconds(8_000_000_000))
    assert clock.sleeps == []
    assert pace.prompt_seconds(10) > 0  # Ollama leaves zero durations out: the mock never reports one


def test_a_warm_handover_takes_time_only_while_loads_do() -> None:
    assert Pace().handover_seconds == Pace().warm_seconds > 0
    assert Pace(load_bytes_per_second=0).handover_seconds == 0
