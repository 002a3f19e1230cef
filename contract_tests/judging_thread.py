"""One daemon thread that judges large answers off the serving loop, in turn."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable


class JudgingThread:
    """One daemon thread that judges large answers in turn (a stop never waits for it: it dies with the process)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=self._work, name="judge", daemon=True).start()

    async def run(self, job: Callable[[], None]) -> None:
        """Run `job` on the thread; the caller's loop serves meanwhile."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def finished(error: BaseException | None) -> None:
            if not done.done():
                done.set_exception(error) if error is not None else done.set_result(None)

        def wrapped() -> None:
            error: BaseException | None = None
            try:
                job()
            except BaseException as raised:  # handed to the waiting coroutine
                error = raised
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
                loop.call_soon_threadsafe(finished, error)

        self._jobs.put(wrapped)
        await done

    def _work(self) -> None:
        while True:
            self._jobs.get()()
