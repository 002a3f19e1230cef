"""The scheduler: which runners are loaded, for whom, until when. Every route that uses a model asks it.

It follows Ollama's `server/sched.go` (0.33): a request for a loaded runner whose options match uses it
at once (the fast path); any other waits its turn in one queue (at most `OLLAMA_MAX_QUEUE`, then 503),
and loads happen one at a time: a runner whose options differ is unloaded first, the loaded-model cap
(`OLLAMA_MAX_LOADED_MODELS`, else 3 per GPU) and, on GPUs, the free memory evict the runner
`ByDurationAndName` picks (waiting for it to go idle), and the new runner appears in `/api/ps` once it
has loaded. A runner serves `OLLAMA_NUM_PARALLEL` requests at once; the others wait for a slot. When
its last request ends it expires after its keep-alive, or at once for a keep-alive of 0 (or one that
overflows Go's duration).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ollama_contract_kit.openapi.durations import DEFAULT_KEEP_ALIVE_SECONDS
from ollama_contract_kit.openapi.releases import Version, has
from ollama_contract_kit.openapi.timestamps import GoTime

from ..world import card, gguf
from ..world.models import InstalledModel, RunningModel, RunningSeed
from .clock import Clock
from .machine import Machine
from .memory import Placement, default_batch, effective_context, embeds_only, place, runner_size, shape_of
from .options import Options, RunnerOptions, read_options
from .pacing import Pace, Stopwatch
from .runners import Runner, RunnerSpec

#: `ErrMaxQueue` (server/sched.go), two spaces included; routes answer it with 503.
SERVER_BUSY = "server busy, please try again.  maximum pending requests exceeded"
#: Architectures Ollama always runs with one request at a time (server/sched.go `load`).
_SINGLE_REQUEST_ARCHITECTURES = frozenset(
    {"mllama", "qwen3vl", "qwen3vlmoe", "qwen35", "qwen35moe", "qwen3next", "lfm2", "lfm2moe", "nemotron_h",
     "nemotron_h_moe", "nemotron_h_omni"}
)  # fmt: skip
#: How often a wait re-checks expiries while the clock runs (keep-alives end without any request).
_RECHECK_SECONDS = 0.25


class ServerBusy(Exception):
    """The queue of requests waiting for a load is full (Ollama's 503)."""

    def __init__(self) -> None:
        super().__init__(SERVER_BUSY)


@dataclass(frozen=True)
class Listing:
    """The running models at one instant, the state generation they were read at, and until when that holds."""

    generation: int
    models: tuple[RunningModel, ...]
    #: The moment the listing changes by itself (an expiry); None when nothing expires. A listing with a
    #: runner still on its first request (shown as now + keep-alive) is never the same twice: `volatile`.
    valid_until: GoTime | None
    volatile: bool


@dataclass
class Lease:
    """A request's hold on a runner, from the scheduler handing it over until `release`."""

    runner: Runner
    #: Seconds from the request's start until the runner was handed over (Ollama's load_duration).
    load_seconds: float
    released: bool = False


class Scheduler:
    """The loaded runners of one mock server, changed only through its methods (thread-safe)."""

    def __init__(self, clock: Clock, machine: Machine, pace: Pace, unload_delay: float = 0.0) -> None:
        self.clock = clock
        self.machine = machine
        self.pace = pace
        self.unload_delay = unload_delay
        #: The release the mock speaks as (the world's), for what changed in the scheduler between releases.
        self.speaks_as: Version | None = None
        self.generation = 0
        self._changed = threading.Condition(threading.RLock())
        self._runners: dict[str, Runner] = {}
        #: Runners that were unloaded but stay listed until the unload delay passes.
        self._stopping: dict[str, RunningModel] = {}
        #: Requests waiting for their turn (Ollama's pending channel); the one whose turn it is is not counted.
        self._queued = 0
        self._tickets = 0
        self._turn = 0
        self._next_expiry: GoTime | None = None
        clock.on_change(self._wake)

    # -- what is loaded ---------------------------------------------------------------------------

    def listing(self) -> Listing:
        """The running models now, latest expiry first (whole seconds; load order within a second)."""
        with self._changed:
            now = self._expire()
            shown = [runner.shown(now, self.unload_delay) for runner in self._runners.values()]
            shown += [model for model in self._stopping.values() if model.model.key not in self._runners]
            if has(self.speaks_as, "ps_sorted"):
                shown.sort(key=lambda model: model.expires_at.unix_seconds(), reverse=True)
            volatile = any(runner.expires_at is None for runner in self._runners.values())
            return Listing(self.generation, tuple(shown), self._next_expiry, volatile)

    def runner_of(self, model: InstalledModel) -> RunningModel | None:
        """The `/api/ps` entry of the runner serving `model`'s weights, if one is loaded."""
        with self._changed:
            runner = self._runners.get(weights_key(model))
            return runner.shown(self.clock.instant(), self.unload_delay) if runner else None

    # -- a request's hold on a runner --------------------------------------------------------------

    def acquire(self, model: InstalledModel, options: Options, keep_alive: float | None, watch: Stopwatch) -> Lease:
        """Hand over a runner for `model` with `options`, loading (and evicting) as Ollama would.

        Blocks while the request waits for its turn or a load; raises ServerBusy when the queue is full.
        The caller must `release` the lease when its answer is done (or `slot` first to generate).
        """
        wanted = self._wanted(model, options)
        with self._changed:
            self._expire()
            runner = self._runners.get(wanted.key)
            if runner is not None and not runner.stopping and not _needs_reload(runner, wanted):
                self._use(runner, keep_alive)
                ticket = None
            elif self._queued >= self.machine.settings.max_queue:
                raise ServerBusy
            else:
                self._queued += 1
                ticket = self._tickets
                self._tickets += 1
        warm = True
        if ticket is not None:
            with self._turn_of(ticket):
                runner, warm = self._serve_pending(wanted, keep_alive, watch)
        assert runner is not None  # warm, or just served
        watch.pause(self.pace.handover_seconds if warm else 0)  # outside the lock: other requests go on meanwhile
        return Lease(runner=runner, load_seconds=watch.elapsed())

    @contextmanager
    def slot(self, lease: Lease) -> Iterator[None]:
        """Hold one of the runner's parallel slots (waiting, first come first served, while all are busy)."""
        runner = lease.runner
        me = object()
        with self._changed:
            runner.waiting.append(me)
            while runner.waiting[0] is not me or runner.generating >= runner.spec.parallel:
                self._changed.wait(_RECHECK_SECONDS)
            runner.waiting.popleft()
            runner.generating += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                runner.generating -= 1
                self._changed.notify_all()

    def release(self, lease: Lease) -> None:
        """The request is done with its runner: when none is left, it expires after its keep-alive."""
        if lease.released:
            return
        lease.released = True
        with self._changed:
            runner = lease.runner
            runner.references -= 1
            if runner.references == 0 and self._runners.get(runner.key) is runner:
                if runner.session_seconds <= 0:
                    self._unload(runner)
                else:
                    runner.expires_at = self.clock.instant().plus(runner.session_seconds)
                    self._note_expiry(runner.expires_at)
            self._bump()

    def unload(self, model: InstalledModel) -> None:
        """`keep_alive: 0` without a prompt (`expireRunner`): expire the runner now, unload it once idle."""
        with self._changed:
            runner = self._runners.get(weights_key(model))
            if runner is None:
                return
            runner.expires_at = self.clock.instant()
            runner.session_seconds = 0
            if runner.idle:
                self._unload(runner)
            else:
                runner.stopping = True
            self._bump()

    # -- worlds ------------------------------------------------------------------------------------

    def reset(self, seeds: tuple[RunningSeed, ...]) -> list[str]:
        """Unload everything, then start the seeds' runners in order; past the cap on loaded models, later
        ones evict earlier ones as loads would.

        Returns the names of seeds that are not running after all (evicted or already expired).
        """
        with self._changed:
            self._runners.clear()
            self._stopping.clear()
            self._next_expiry = None
            free = self._free_vram()
            for seed in seeds:
                self._seed(seed, free)
            self._bump()
            running = {runner.model.key for runner in self._runners.values()}
            return [seed.model.name for seed in seeds if seed.model.key not in running]

    def place_now(self, model: InstalledModel, keep_alive: float | None) -> RunningModel:
        """Load `model` with the defaults at once, as a load request would but without waiting (control API)."""
        watch = Stopwatch(self.clock, self.pace, simulated_only=True)
        lease = self.acquire(model, read_options(model.parameters, None), keep_alive, watch)
        self.release(lease)
        # As it stands once the load is done: expiring now when the keep-alive is 0 (and so unloaded already).
        with self._changed:
            return lease.runner.shown(self.clock.instant(), self.unload_delay)

    # -- inside ------------------------------------------------------------------------------------

    def _wanted(self, model: InstalledModel, options: Options) -> RunnerSpec:
        shape = shape_of(model)
        requested = options.runner
        context = requested.num_ctx or self.machine.default_context(self.speaks_as)
        context = max(4, context)
        if model.can("vision"):
            context = max(context, 2048)
        context = effective_context(context, shape.trained_context)
        embedding = embeds_only(model)
        single = embedding or gguf.architecture(model) in _SINGLE_REQUEST_ARCHITECTURES
        parallel = 1 if single else self.machine.num_parallel(self.speaks_as)
        automatic_context = options.automatic_context and not self.machine.settings.context_length
        batch_given = options.runner.num_batch != RunnerOptions().num_batch
        if batch_given:
            batch, automatic = requested.num_batch, False
        else:
            batch, automatic = default_batch(model, context, parallel), not embedding
        return RunnerSpec(
            key=weights_key(model),
            model=model,
            options=replace(requested, num_ctx=context, num_batch=batch),
            automatic_context=automatic_context,
            automatic_batch=automatic,
            parallel=parallel,
        )

    @contextmanager
    def _turn_of(self, ticket: int) -> Iterator[None]:
        """One pending request at a time, in arrival order (Ollama's single `processPending` loop)."""
        with self._changed:
            while self._turn != ticket:
                self._changed.wait()
            self._queued -= 1
        try:
            yield
        finally:
            with self._changed:
                self._turn += 1
                self._changed.notify_all()

    def _serve_pending(self, wanted: RunnerSpec, keep_alive: float | None, watch: Stopwatch) -> tuple[Runner, bool]:
        """A runner for `wanted`, evicting and loading as needed; True with it when it was loaded already."""
        while True:
            with self._changed:
                self._expire()
                runner = self._runners.get(wanted.key)
                if runner is not None and not runner.stopping and not _needs_reload(runner, wanted):
                    self._use(runner, keep_alive)
                    return runner, True
                victim = runner or self._victim_for(wanted)
                if victim is not None:
                    self._evict_and_wait(victim)
                    continue
                size, placement = self._footprint(wanted)
            watch.pause(self.pace.load_seconds(size))
            with self._changed:
                session = keep_alive if keep_alive is not None else self.machine.settings.keep_alive
                runner = Runner(
                    spec=wanted,
                    size=size,
                    size_vram=placement.size_vram,
                    gpus=placement.gpus,
                    session_seconds=session,
                )
                self._runners[wanted.key] = runner
                self._stopping.pop(wanted.model.key, None)
                self._use(runner, None)
                return runner, False

    def _use(self, runner: Runner, keep_alive: float | None) -> None:
        """`useLoadedRunner`: one more reference; a request's keep-alive replaces the runner's (it sticks)."""
        runner.references += 1
        if keep_alive is not None:
            runner.session_seconds = keep_alive
        self._bump()

    def _victim_for(self, wanted: RunnerSpec) -> Runner | None:
        """The runner to evict before loading `wanted`, if the cap or (on GPUs) the memory requires one."""
        if not self._runners:
            return None
        if len(self._runners) >= self.machine.max_loaded(self.speaks_as):
            return self._pick_victim()
        layers = shape_of(wanted.model).block_count
        partial = 0 <= wanted.options.num_gpu < layers  # CPU only, or explicitly part on the GPUs
        if self.machine.gpus and not partial:
            size, _ = self._footprint(wanted)
            if size > sum(self._free_vram().values()) * 0.8:
                return self._pick_victim()
        return None

    def _pick_victim(self) -> Runner:
        """`findRunnerToUnload`: the first idle runner by keep-alive then weights; else the first, busy."""
        ordered = sorted(self._runners.values(), key=Runner.eviction_order)
        return next((runner for runner in ordered if runner.idle), ordered[0])

    def _evict_and_wait(self, victim: Runner) -> None:
        """Stop the victim's keep-alive and wait until it is unloaded (at once if idle)."""
        victim.session_seconds = 0
        victim.stopping = True
        if victim.idle:
            self._unload(victim)
        while self._runners.get(victim.key) is victim:
            self._changed.wait(_RECHECK_SECONDS)
            self._expire()

    def _footprint(self, wanted: RunnerSpec, free: dict[int, int] | None = None) -> tuple[int, Placement]:
        """The runner's size and where it goes, given the VRAM free per GPU (counted now unless given)."""
        model = wanted.model
        size = runner_size(model, wanted.options.num_ctx, wanted.parallel, wanted.options.num_batch, self.machine)
        stated = model.loaded
        at_stated = stated is not None and stated.context_length == wanted.options.num_ctx
        placement = place(
            model,
            size,
            wanted.options.num_gpu,
            self._free_vram() if free is None else free,
            stated_vram=stated.size_vram if stated is not None and at_stated else None,
        )
        return size, placement

    def _free_vram(self) -> dict[int, int]:
        settings = self.machine.settings
        free = {index: max(0, gpu.memory - settings.gpu_overhead) for index, gpu in enumerate(self.machine.gpus)}
        for runner in self._runners.values():
            _take_vram(free, runner)
        return free

    def _seed(self, seed: RunningSeed, free: dict[int, int]) -> None:
        """Start a world's running entry as it stands; `free` is the VRAM left per GPU, kept up to date."""
        model = seed.model
        wanted = self._wanted(model, _seed_options(model, seed))
        if wanted.key in self._runners:
            return
        if len(self._runners) >= self.machine.max_loaded(self.speaks_as):
            victim = self._pick_victim()
            del self._runners[victim.key]
            free.update(self._free_vram())  # past the cap only a few runners remain: recounting is cheap
        now = self.clock.instant()
        session = seed.keep_alive_seconds
        if session is None:
            session = seed.expires_at.seconds_since(now) if seed.expires_at else DEFAULT_KEEP_ALIVE_SECONDS
        expires_at = seed.expires_at or now.plus(session)
        if expires_at <= now:
            return  # expired already: never listed
        size, placement = self._footprint(wanted, free)
        size = seed.size if seed.size is not None else size
        vram = seed.size_vram if seed.size_vram is not None else min(placement.size_vram, size)
        # A running entry at the machine's default context counts as the server's choice, as a load would.
        automatic = wanted.options.num_ctx == self.machine.default_context(self.speaks_as)
        runner = Runner(
            spec=replace(wanted, automatic_context=automatic),
            size=size,
            size_vram=vram,
            gpus=tuple(range(len(self.machine.gpus))) if vram else (),
            session_seconds=session,
            expires_at=expires_at,
        )
        self._runners[wanted.key] = runner
        _take_vram(free, runner)
        self._note_expiry(expires_at)

    def _unload(self, runner: Runner) -> None:
        del self._runners[runner.key]
        now = self.clock.instant()
        if self.unload_delay > 0:
            shown = runner.shown(now, self.unload_delay)
            expired = shown if shown.expires_at <= now else replace(shown, expires_at=now)
            self._stopping[runner.model.key] = expired
            self._note_expiry(expired.listed_until)
        self._bump()

    def _expire(self) -> GoTime:
        """Unload idle runners whose keep-alive has passed; forget stopped ones past the unload delay."""
        now = self.clock.instant()
        if self._next_expiry is None or now < self._next_expiry:
            return now
        for runner in [r for r in self._runners.values() if r.idle and r.expires_at is not None]:
            if runner.expires_at is not None and runner.expires_at <= now:
                self._unload(runner)
        for key in [key for key, shown in self._stopping.items() if shown.listed_until <= now]:
            del self._stopping[key]
            self._bump()
        upcoming = [r.expires_at for r in self._runners.values() if r.idle and r.expires_at is not None]
        upcoming += [shown.listed_until for shown in self._stopping.values()]
        self._next_expiry = min(upcoming, default=None)
        return now

    def _note_expiry(self, moment: GoTime) -> None:
        if self._next_expiry is None or moment < self._next_expiry:
            self._next_expiry = moment

    def _bump(self) -> None:
        self.generation += 1
        self._changed.notify_all()

    def _wake(self) -> None:
        """The clock moved: expiries may have come, waits re-check."""
        with self._changed:
            self._next_expiry = self.clock.instant() if self._runners or self._stopping else None
            self._changed.notify_all()


def weights_key(model: InstalledModel) -> str:
    """What identifies a runner (`schedulerModelKey`): the model's weights blob, shared by models made FROM it."""
    return card.weights_digest(model)


def _needs_reload(runner: Runner, wanted: RunnerSpec) -> bool:
    """`needsReload`: the runner options differ once automatic choices are carried over (num_gpu -1 never counts)."""
    existing, new = runner.spec.options, wanted.options
    if existing == new:  # the common case: the same request again
        return False
    if runner.spec.automatic_context and wanted.automatic_context:
        new = replace(new, num_ctx=existing.num_ctx)
    if runner.spec.automatic_batch and wanted.automatic_batch:
        new = replace(new, num_batch=existing.num_batch)
    if new.use_mmap is None:
        new = replace(new, use_mmap=existing.use_mmap)
    if new.num_gpu < 0:
        existing, new = replace(existing, num_gpu=-1), replace(new, num_gpu=-1)
    return existing != new


def _seed_options(model: InstalledModel, seed: RunningSeed) -> Options:
    options = read_options(model.parameters, None)
    if seed.context_length:
        return replace(options, runner=replace(options.runner, num_ctx=seed.context_length))
    return options


def _take_vram(free: dict[int, int], runner: Runner) -> None:
    """Count `runner`'s share of VRAM out of what each of its GPUs has free."""
    for index in runner.gpus:
        free[index] = max(0, free[index] - runner.size_vram // max(1, len(runner.gpus)))
