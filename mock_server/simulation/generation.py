"""One request's time on a runner: handed a runner by the scheduler, it reads the prompt, emits its tokens
one by one on the clock, reports Ollama's timings, and hands the runner back.

Every route that uses a model goes through it (generate, chat, embed, the /v1 layer), so its answer
and `/api/ps` agree at every instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from ollama_contract_kit.openapi.timestamps import GoTime

from ..answers.transcript import Token, Transcript
from ..world.models import InstalledModel
from .options import Options
from .pacing import Stopwatch
from .scheduler import Lease, Scheduler

_NANOSECONDS = 1_000_000_000


class Generation:
    """A request holding a runner: create it to be scheduled (it may wait, or raise ServerBusy), `close` it."""

    def __init__(self, scheduler: Scheduler, model: InstalledModel, options: Options, keep_alive: float | None) -> None:
        self.scheduler = scheduler
        self.options = options
        self.watch = Stopwatch(scheduler.clock, scheduler.pace)
        self.lease: Lease = scheduler.acquire(model, options, keep_alive, self.watch)
        self._prompt_seconds = 0.0
        self._eval_seconds = 0.0

    @property
    def context(self) -> int:
        """The runner's context (a request's share)."""
        return self.lease.runner.spec.options.num_ctx

    def now(self) -> GoTime:
        """The moment to stamp on what the request sends now."""
        return self.watch.stamp()

    def run(self, transcript: Transcript, prompt_tokens: int) -> Iterator[tuple[Token, GoTime]]:
        """Read the prompt, then emit each token when it is generated, with its moment; holds a parallel slot."""
        pace = self.scheduler.pace
        if transcript.tokens_per_second:
            pace = replace(pace, tokens_per_second=transcript.tokens_per_second)
        with self.scheduler.slot(self.lease):
            self._prompt_seconds = pace.prompt_seconds(prompt_tokens)
            self.watch.pause(self._prompt_seconds + transcript.delay_seconds)
            for token in transcript.tokens:
                seconds = pace.token_seconds * token.cost
                self.watch.pause(seconds)
                self._eval_seconds += seconds
                yield token, self.watch.stamp()

    def complete(self, transcript: Transcript, prompt_tokens: int) -> GoTime:
        """Generate the whole answer (for an answer sent in one piece), hand the runner back, and return
        the moment it ended."""
        try:
            for _ in self.run(transcript, prompt_tokens):
                pass
            return self.now()
        finally:
            self.close()

    def read(self, prompt_tokens: int) -> None:
        """Read a prompt and generate nothing (an embedding); holds a parallel slot meanwhile."""
        for _ in self.run(Transcript((), "stop"), prompt_tokens):
            pass

    def metrics(self, prompt_tokens: int, eval_count: int | None) -> dict[str, Any]:
        """Ollama's timings and counts, in its key order (`eval_*` left out when nothing was generated)."""
        timings: dict[str, Any] = {
            "total_duration": _ns(self.watch.elapsed()),
            "load_duration": _ns(self.lease.load_seconds),
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": _ns(self._prompt_seconds or self.scheduler.pace.prompt_seconds(prompt_tokens)),
        }
        if eval_count is not None:
            pace = self.scheduler.pace
            timings |= {"eval_count": eval_count, "eval_duration": _ns(self._eval_seconds or pace.token_seconds)}
        return timings

    def close(self) -> None:
        """Hand the runner back (it expires after its keep-alive once no request holds it)."""
        self.scheduler.release(self.lease)


def _ns(seconds: float) -> int:
    return max(1, round(seconds * _NANOSECONDS))
