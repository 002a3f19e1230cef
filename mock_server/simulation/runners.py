"""A loaded runner as the scheduler keeps it (`runnerRef` in server/sched.go), and what `/api/ps` shows of it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ollama_contract_kit.openapi.durations import FOREVER_SECONDS
from ollama_contract_kit.openapi.timestamps import GoTime

from ..world.models import InstalledModel, RunningModel
from .options import RunnerOptions

#: `time.Duration` as an unsigned number of nanoseconds (`ByDurationAndName` sorts by `uint64(duration)`).
_UINT64 = 2**64


@dataclass(frozen=True)
class RunnerSpec:
    """The runner a request needs: what it serves and how it is loaded."""

    #: The weights it serves (`schedulerModelKey`: the model blob): names sharing weights share it.
    key: str
    #: The model of the request: `/api/ps` lists the name and digest of the one that loaded it.
    model: InstalledModel
    options: RunnerOptions
    #: True when the context (batch) was the server's choice, not asked for (`numCtxAuto`, `numBatchAuto`).
    automatic_context: bool
    automatic_batch: bool
    parallel: int


@dataclass
class Runner:
    """One loaded model's runner. Every field is read and written under the scheduler's lock."""

    spec: RunnerSpec
    size: int
    size_vram: int
    gpus: tuple[int, ...]
    #: `sessionDuration`: the keep-alive it gets each time it goes idle (negative or 0: unload then).
    session_seconds: float
    #: When it expires; None until its first request ends (`/api/ps` then shows now + session).
    expires_at: GoTime | None = None
    #: Requests holding it (`refCount`), generating or waiting for a slot.
    references: int = 0
    #: Requests generating now (at most `parallel`), and the queue of those waiting for a slot.
    generating: int = 0
    waiting: deque[object] = field(default_factory=deque)
    #: Set when it was asked to go (unload, eviction): it leaves once idle.
    stopping: bool = False

    @property
    def idle(self) -> bool:
        """True when no request holds it."""
        return self.references == 0

    @property
    def key(self) -> str:
        """The weights it serves."""
        return self.spec.key

    @property
    def model(self) -> InstalledModel:
        """The model whose request loaded it."""
        return self.spec.model

    def eviction_order(self) -> tuple[int, str]:
        """`ByDurationAndName`: the shortest keep-alive first (as an unsigned number), then the weights."""
        return round(self.session_seconds * 1e9) % _UINT64, self.key

    def shown(self, now: GoTime, unload_delay: float) -> RunningModel:
        """What `/api/ps` lists for it now."""
        expires_at = self.expires_at if self.expires_at is not None else now.plus(self._session_for_display())
        return RunningModel(
            model=self.model,
            expires_at=expires_at,
            keep_alive_seconds=self.session_seconds,
            size=self.size,
            size_vram=self.size_vram,
            context_length=self.spec.options.num_ctx,
            unload_delay_seconds=unload_delay,
        )

    def _session_for_display(self) -> float:
        return min(self.session_seconds, FOREVER_SECONDS)
