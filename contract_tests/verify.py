"""`verify`: run the contract suite against a server in this process and collect its results."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import time
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest

from ollama_contract_kit.client import HTTPStatusError, OllamaClient, OllamaClientError, ServerUnreachable
from ollama_contract_kit.commandline.headers import mask_text

from .defaults import LIVE_REQUESTS_PER_SECOND, TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS, VERIFY_MAX_EXAMPLES
from .report import CheckResult, Verification

_SUITE_MODULE = "from ollama_contract_kit.contract_tests.suite import *  # noqa: F403\n"


class SuiteError(Exception):
    """The contract suite itself could not run (a broken installation, not a verdict on the server)."""


class Unreachable(Exception):
    """The server cannot be checked: no answer, or it refuses our credentials."""


class NotOllama(Unreachable):
    """Something answers at the URL, but not like Ollama (a wrong path prefix, another service)."""


class Progress(Protocol):
    """What a caller is told while a verification runs (the CLI prints it as it happens)."""

    def started(self, url: str, version: str | None) -> None:
        """The server answered; the checks begin."""

    def check_started(self, title: str) -> None:
        """A check begins."""

    def check_finished(self, result: CheckResult) -> None:
        """A check ended with `result`."""


def _what_answered(method: str, url: str, error: OllamaClientError) -> str:
    if isinstance(error, HTTPStatusError):
        return f"{method} {url} answered HTTP {error.status_code} ({error.error})"
    return f"{method} {url} answered {error}"


def preflight(url: str, headers: Mapping[str, str], timeout: float) -> str | None:
    """Make sure Ollama answers at `url`; return its version when it reports one.

    Raises Unreachable when nothing answers or the credentials are refused, and NotOllama when
    neither `/api/version` nor `/api/ps` answers like Ollama (so a wrong prefix is named as such).
    """
    with OllamaClient(url, headers=dict(headers), timeout=timeout) as client:
        try:
            return client.version()
        except ServerUnreachable as error:
            raise Unreachable(str(error)) from None
        except HTTPStatusError as error:
            if error.status_code in (401, 403, 407):
                raise Unreachable(
                    f"{error.url} refused the request (HTTP {error.status_code}): check --headers"
                ) from None
            version_answer = _what_answered("GET", error.url, error)
        except OllamaClientError as error:
            version_answer = _what_answered("GET", f"{url}/api/version", error)
        try:
            listing = client.get_json("/api/ps")
        except ServerUnreachable as error:
            raise Unreachable(str(error)) from None
        except OllamaClientError as error:
            ps_answer = _what_answered("GET", f"{url}/api/ps", error)
        else:
            if isinstance(listing, dict) and "models" in listing:
                return None  # /api/ps answers like Ollama: check it, without a version
            ps_answer = f"GET {url}/api/ps answered JSON without `models`"
    raise NotOllama(
        mask_text(
            f"{version_answer}; {ps_answer}: nothing at this URL answers like Ollama; is the path prefix right?",
            headers,
        )
    )


def _evidence(value: BaseException) -> str:
    inner = getattr(value, "exceptions", None)
    if type(value).__name__ != "FailureGroup" and isinstance(inner, (list, tuple)) and inner:
        return "\n".join(_evidence(exception) for exception in inner)  # Hypothesis found several failures
    text = re.sub(r"\s*\(\d+ sub-exceptions?\)\s*$", "", str(value))  # Schemathesis: failures, answer and curl
    # Drop pytest's assertion rewriting detail: our messages already say what was expected.
    return text.split("\nassert ")[0].strip()


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or item.name
    first_line = doc.strip().splitlines()[0].rstrip(".")
    name = item.name
    if "[" in name:
        return f"[{name.split('[', 1)[1]} {first_line}"
    return first_line


class _Collector:
    """A pytest plugin that turns test reports into CheckResults (secrets masked) and tells `progress`."""

    def __init__(self, headers: Mapping[str, str], progress: Progress | None) -> None:
        self.headers = headers
        self.progress = progress
        self.results: list[CheckResult] = []
        self.current: str | None = None
        self.interrupted = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.current = _title(item)
        if self.progress is not None:
            self.progress.check_started(self.current)

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        report = outcome.get_result()
        interesting = report.when == "call" or (
            report.when in ("setup", "teardown") and (report.failed or report.skipped)
        )
        if not interesting:
            return
        evidence = ""
        if report.failed and call.excinfo is not None:
            evidence = _evidence(call.excinfo.value)
            if report.when == "teardown":
                evidence = "while restoring the server: " + evidence
        elif report.skipped and isinstance(report.longrepr, tuple):
            evidence = str(report.longrepr[2]).removeprefix("Skipped: ")
        result = CheckResult(
            name=item.name,
            title=_title(item),
            outcome=report.outcome,
            evidence=mask_text(evidence, self.headers),
            seconds=round(report.duration, 3),
        )
        self.results.append(result)
        if self.progress is not None:
            self.progress.check_finished(result)


@contextlib.contextmanager
def _plugin_autoload_disabled() -> Generator[None, None, None]:
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous


def verify(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    read_only: bool = False,
    max_examples: int = VERIFY_MAX_EXAMPLES,
    grace_seconds: float = UNLOAD_GRACE_SECONDS,
    timeout: float = TIMEOUT_SECONDS,
    max_rate: float = LIVE_REQUESTS_PER_SECOND,
    progress: Progress | None = None,
) -> Verification:
    """Check the server at `url` against the contract; raises Unreachable when nothing can be checked.

    A KeyboardInterrupt (SIGINT, or SIGTERM turned into one) stops the checks; the server is
    restored as the lifecycle checks promise, and the Verification says `interrupted`.
    """
    headers = dict(headers or {})
    started = time.monotonic()
    version = preflight(url, headers, timeout)
    if progress is not None:
        progress.started(url, version)
    collector = _Collector(headers, progress)
    with tempfile.TemporaryDirectory(prefix="ollama-contract-") as folder:
        root = Path(folder)
        (root / "test_ollama_contract.py").write_text(_SUITE_MODULE, encoding="utf-8")
        (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        arguments = [
            str(root / "test_ollama_contract.py"),
            "-c", str(root / "pytest.ini"),
            "--rootdir", str(root),
            "-p", "schemathesis.pytest.plugin",
            "-p", "ollama_contract_kit.contract_tests.plugin",
            "-p", "no:cacheprovider",
            "--import-mode=importlib",
            "--ollama-url", url,
            "--ollama-headers", json.dumps(headers),
            "--contract-max-examples", str(max_examples),
            "--ollama-grace", str(grace_seconds),
            "--ollama-max-rate", str(max_rate),
            "--ollama-timeout", str(timeout),
            "-q",
        ]  # fmt: skip
        if read_only:
            arguments.append("--ollama-read-only")
        quiet = io.StringIO()
        with _plugin_autoload_disabled(), contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            exit_code = pytest.main(arguments, plugins=[collector])
    if not collector.results and not collector.interrupted:
        raise SuiteError(f"the contract suite did not run (pytest exit {exit_code}):\n{quiet.getvalue()[-3000:]}")
    return Verification(
        url=url,
        version=version,
        read_only=read_only,
        results=tuple(collector.results),
        seconds=time.monotonic() - started,
        interrupted=(collector.current or "the start of the checks") if collector.interrupted else None,
    )
