"""Live output of `ollama-contract verify`: each check's result as it completes, and what runs now on a TTY."""

from __future__ import annotations

from ollama_contract_kit.commandline.console import Console

from .report import CheckResult, Verification, render_header, render_result, render_verdict

#: The widest progress line drawn on a terminal (it is erased before any other output).
_PROGRESS_WIDTH = 100


class ConsoleProgress:
    """Prints the report while the run goes: header, one line per check (evidence under failures), verdict.

    Lines are flushed one by one, so a pipe or a CI log sees them as they happen. On a terminal, a
    one-line indicator names the check now running, and is erased before the next line.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._indicator = False

    def _erase_indicator(self) -> None:
        if self._indicator:
            self.console.stream.write("\r" + " " * _PROGRESS_WIDTH + "\r")
            self._indicator = False

    def _line(self, text: str = "") -> None:
        self._erase_indicator()
        self.console.line(text)

    def started(self, url: str, version: str | None) -> None:
        """Print the header."""
        self._line(render_header(url, version))
        self._line()

    def check_started(self, title: str) -> None:
        """On a terminal, show which check runs now."""
        if not self.console.is_terminal:
            return
        self._erase_indicator()
        text = f"  ....  {title}"
        self.console.stream.write(text[: _PROGRESS_WIDTH - 1])
        self.console.stream.flush()
        self._indicator = True

    def check_finished(self, result: CheckResult) -> None:
        """Print the check's result."""
        for line in render_result(result):
            self._line(line)

    def finished(self, verification: Verification) -> None:
        """Print the verdict."""
        self._line()
        self._line(render_verdict(verification))
