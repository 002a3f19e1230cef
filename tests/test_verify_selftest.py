"""Proof that `verify` works: it fails every deliberately broken server and passes every valid one."""

from __future__ import annotations

import pytest

from ollama_contract_kit.contract_tests.report import Verification, render_text
from ollama_contract_kit.contract_tests.runner import verify

from .servers import BROKEN, VALID, Server

#: One process keeps the score (test_print_the_score reads it): under xdist the module stays in one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("verify-selftest")]

SCORE: dict[str, list[str]] = {"broken caught": [], "broken missed": [], "valid passed": [], "valid failed": []}


def _verify(server: Server) -> tuple[Verification, set[str], set[str]]:
    """The verification, and the names of the running models before and after it."""
    with server.start() as mock:
        before = {entry["name"] for entry in mock.running()}
        verification = verify(mock.url, server.headers, max_examples=3, grace_seconds=2, max_rate=1000)
        return verification, before, {entry["name"] for entry in mock.running()}


def test_there_are_enough_cases() -> None:
    assert len(BROKEN) >= 20 and len(VALID) >= 8


@pytest.mark.parametrize("server", BROKEN, ids=[server.name for server in BROKEN])
def test_verify_fails_a_broken_server(server: Server) -> None:
    verification, _, _ = _verify(server)
    SCORE["broken caught" if not verification.conforms else "broken missed"].append(server.name)
    assert not verification.conforms, render_text(verification)
    assert all(result.evidence for result in verification.failed), "every failure says why"
    reasons = "\n".join(f"{result.title}\n{result.evidence}" for result in verification.failed)
    assert server.expect in reasons, f"failed, but not for the intended reason ({server.expect!r}):\n{reasons}"


@pytest.mark.parametrize("server", VALID, ids=[server.name for server in VALID])
def test_verify_passes_a_valid_server(server: Server) -> None:
    verification, running_before, running_after = _verify(server)
    SCORE["valid passed" if verification.conforms else "valid failed"].append(server.name)
    assert verification.conforms, render_text(verification)
    assert running_after == running_before, "verify leaves the server's running models as it found them"
    assert sum(result.outcome == "passed" for result in verification.results) >= 14
    assert all("s3cr3t" not in result.evidence for result in verification.results)


def test_print_the_score() -> None:
    caught, missed = len(SCORE["broken caught"]), len(SCORE["broken missed"])
    passed, failed = len(SCORE["valid passed"]), len(SCORE["valid failed"])
    print(
        f"\nverify self-test: {caught}/{caught + missed} broken servers caught, "
        f"{passed}/{passed + failed} valid servers passed"
    )
    assert missed == 0 and failed == 0
