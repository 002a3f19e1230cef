"""`verify`: run every check of the registry against a server, in this process, and collect the results."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Protocol

from schemathesis.core.failures import FailureGroup

from ollama_contract_kit.client import HTTPStatusError, OllamaClient, OllamaClientError, ServerUnreachable
from ollama_contract_kit.commandline.headers import mask_text

from .checking import Check, CheckSkipped, ContractRun
from .defaults import LIVE_REQUESTS_PER_SECOND, TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS, VERIFY_MAX_EXAMPLES
from .report import CheckResult, Verification
from .target import ContractTarget

#: How often `--wait` asks again while nothing answers.
WAIT_POLL_SECONDS = 0.2


class Unreachable(Exception):
    """The server cannot be checked: no answer, or it refuses our credentials."""


class NoAnswer(Unreachable):
    """Nothing answers at the URL (refused, reset, timed out): the server may still be starting."""


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

    Raises NoAnswer when nothing answers, Unreachable when the credentials are refused, and NotOllama
    when neither `/api/version` nor `/api/ps` answers like Ollama (so a wrong prefix is named as such).
    """
    with OllamaClient(url, headers=dict(headers), timeout=timeout) as client:
        try:
            return client.version()
        except ServerUnreachable as error:
            raise NoAnswer(str(error)) from None
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
            raise NoAnswer(str(error)) from None
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


def wait_for_answer(url: str, headers: Mapping[str, str], timeout: float, wait: float) -> str | None:
    """`preflight`, asked again while nothing answers, for up to `wait` seconds (a server that is starting)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return preflight(url, headers, timeout)
        except NoAnswer:
            if time.monotonic() + WAIT_POLL_SECONDS > deadline:
                raise
        time.sleep(WAIT_POLL_SECONDS)


def evidence(error: BaseException) -> str:
    """What a failed check says: Schemathesis's failures with their curl line, or the assertion's message."""
    inner = getattr(error, "exceptions", None)
    if not isinstance(error, FailureGroup) and isinstance(inner, (list, tuple)):
        return "\n".join(evidence(exception) for exception in inner)  # Hypothesis found several failures
    text = re.sub(r"\s*\(\d+ sub-exceptions?\)\s*$", "", str(error))
    if not isinstance(error, (AssertionError, FailureGroup)):
        text = f"{type(error).__name__}: {text}"  # not a verdict on the server: say what went wrong
    return text.strip()


def run_check(check: Check, run: ContractRun, headers: Mapping[str, str]) -> CheckResult:
    """Run one check; its result, with secret header values masked. KeyboardInterrupt goes through."""
    started = time.monotonic()
    outcome, said = "passed", ""
    try:
        check.run(run)
    except CheckSkipped as reason:
        outcome, said = "skipped", str(reason)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # Schemathesis's failure group is a BaseExceptionGroup, not an Exception
        inner = getattr(error, "exceptions", None)
        if not isinstance(error, Exception) and inner is None:
            raise  # SystemExit and its kind end the run
        if inner is not None and any(isinstance(item, KeyboardInterrupt) for item in inner):
            raise KeyboardInterrupt from None
        outcome, said = "failed", evidence(error)
    seconds = round(time.monotonic() - started, 3)
    return CheckResult(check.name, check.title, outcome, mask_text(said, headers), seconds)


def _restored(run: ContractRun, headers: Mapping[str, str]) -> CheckResult | None:
    try:
        run.finish()
    except AssertionError as error:
        said = mask_text("while restoring the server: " + evidence(error), headers)
        return CheckResult("restore_the_server", "The server is left as it was found", "failed", said)
    return None


def verify(
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    read_only: bool = False,
    max_examples: int = VERIFY_MAX_EXAMPLES,
    grace_seconds: float = UNLOAD_GRACE_SECONDS,
    timeout: float = TIMEOUT_SECONDS,
    max_rate: float = LIVE_REQUESTS_PER_SECOND,
    wait: float = 0.0,
    progress: Progress | None = None,
) -> Verification:
    """Check the server at `url` against the contract; raises Unreachable when nothing can be checked.

    `wait` seconds are given to a server that does not answer yet (one that is starting). A
    KeyboardInterrupt (SIGINT, or SIGTERM turned into one) stops the checks; the server is restored
    as the lifecycle checks promise, and the Verification says `interrupted`.
    """
    from .registry import CHECKS  # builds the Schemathesis schemas: not before the server answered

    headers = dict(headers or {})
    started = time.monotonic()
    version = wait_for_answer(url, headers, timeout, wait)
    if progress is not None:
        progress.started(url, version)
    target = ContractTarget(
        description=url,
        base_url=url,
        headers=headers,
        live=True,
        read_only=read_only,
        grace_seconds=grace_seconds,
        max_rate=max_rate,
        timeout=timeout,
        max_examples=max_examples,
    )
    run = ContractRun(target)
    results: list[CheckResult] = []
    current: str | None = None
    try:
        for check in CHECKS:
            current = check.title
            if progress is not None:
                progress.check_started(check.title)
            result = run_check(check, run, headers)
            results.append(result)
            if progress is not None:
                progress.check_finished(result)
        current = None
    except KeyboardInterrupt:
        interrupted: str | None = current or "the start of the checks"
    else:
        interrupted = None
    restored = _restored(run, headers)
    if restored is not None:
        results.append(restored)
        if progress is not None:
            progress.check_finished(restored)
    return Verification(url, version, read_only, tuple(results), time.monotonic() - started, interrupted=interrupted)
