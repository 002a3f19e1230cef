"""What the kit's commands print: lines that reach a pipe at once, and quiet ends for closed pipes and Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import TextIO

#: The exit code of a command stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
INTERRUPTED = 130


class Console:
    """Writes whole lines, flushed, so a pipe (`| tee`, a CI log) sees each one as it happens.

    When the reader goes away (`| head -1`), further lines are dropped silently: the command keeps
    its exit code, as Unix tools do.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.closed = False

    def line(self, text: str = "") -> None:
        """Print `text` and a newline, now."""
        if self.closed:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except BrokenPipeError:
            self.closed = True
            _silence(self.stream)

    @property
    def is_terminal(self) -> bool:
        """True when a person watches the output (a TTY), so a progress line may be redrawn."""
        return not self.closed and self.stream.isatty()


def _silence(stream: TextIO) -> None:
    # Python flushes stdout once more at exit; pointing the descriptor at /dev/null keeps that quiet.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def stop_on_signals() -> None:
    """Turn SIGTERM and SIGINT into KeyboardInterrupt, even where SIGINT was ignored (`nohup`, `cmd &`)."""

    def interrupt(_signal: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Run a command's body: Ctrl-C or SIGTERM ends it with one line and exit 130, a closed pipe quietly."""
    stop_on_signals()
    try:
        return body()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        _silence(sys.stdout)
        return 0
