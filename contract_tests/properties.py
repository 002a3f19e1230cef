"""Schemathesis's property runs as plain checks: per operation, the cases `@schema.parametrize()` would send.

A live server gets only the read-only operations; generate and chat bodies are fuzzed against the
mock alone (a live server is never asked to generate text).
"""

from __future__ import annotations

import unittest
from collections.abc import Callable
from functools import partial
from typing import Any

import schemathesis
from hypothesis import settings
from hypothesis.reporting import with_reporter
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test

from ollama_contract_kit.openapi import spec_path
from ollama_contract_kit.openapi.releases import CHANGES, route_change

from . import checks  # noqa: F401  (registers the kit's Schemathesis checks)
from .checking import Check, CheckSkipped, ContractRun
from .fuzz_config import PHASES, checks_for
from .profile import contract_settings

Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]

#: The read-only operations, the only ones a live server gets (no per-operation settings: see checks_for).
READ_ONLY_OPERATIONS = schemathesis.openapi.from_path(
    str(spec_path("ollama")), config=schemathesis.Config.from_dict({"phases": PHASES})
).include(method="GET")
#: generate and chat, for the mock only (the mock's other routes are fuzzed by the kit's own tests).
GENERATING_OPERATIONS = schemathesis.openapi.from_path(
    str(spec_path("ollama")),
    config=schemathesis.Config.from_dict({"phases": PHASES, "checks": checks_for("/api/generate")}),
).include(operation_id=["generate", "chat"])


def run_property_test(operation: Operation, run: ContractRun) -> None:
    """Send the operation's examples, coverage cases and generated cases; fail on the first broken rule."""
    target = run.target

    def test(case: Case) -> None:
        target.call_and_validate(case)

    try:
        run_operation_cases(operation, test, contract_settings(target.max_examples, database=not target.live))
    except unittest.SkipTest as reason:
        raise CheckSkipped(str(reason)) from None


def run_operation_cases(operation: Operation, test: Callable[[Case], None], explicit_settings: settings) -> None:
    """Run `test` on the cases `@schema.parametrize()` would give it for `operation` (same phases, same
    checks), built only now and run without pytest; a failure is raised as Schemathesis reports it, and
    Hypothesis's own report is kept out of the caller's output."""
    hypothesis_test = build_operation_test(
        config=operation.schema.config,
        operation=operation,
        test_func=test,
        given_kwargs={},
        feedback=FeedbackSources(),
        explicit_settings=explicit_settings,
    )
    try:
        with with_reporter(_quiet):
            hypothesis_test()
    except FailureGroup as failures:
        raise as_reported_failure(failures) from None


def _quiet(_: Any) -> None:
    return None


def read_only_operation_conforms(operation: Operation, run: ContractRun) -> None:
    """Schemathesis: every built-in check and the kit's, positive and negative data."""
    target = run.target
    added_by = route_change(operation.path)
    if added_by is not None and not target.has(added_by):
        answer = target.request(operation.method.upper(), operation.path)
        assert answer.status == 404 and answer.body.strip() == b"404 page not found", (
            f"{answer.method} {answer.url}: this release had no {operation.path} "
            f"(since {'.'.join(map(str, CHANGES[added_by].since))}): expected 404 page not found, "
            f"got {answer.status} {answer.excerpt()}"
        )
        return
    run_property_test(operation, run)


def generate_and_chat_conform(operation: Operation, run: ContractRun) -> None:
    """Schemathesis on generate/chat bodies (mock only: a live server is never asked to generate text)."""
    if run.target.live:
        raise CheckSkipped("live servers are never asked to generate text")
    run_property_test(operation, run)


def operations_of(schema: Any) -> list[Operation]:
    """Every operation of a loaded schema (after its filters)."""
    return [result.ok() for result in schema.get_all_operations()]


def property_checks() -> list[Check]:
    """One check per read-only operation, then one per generating operation (skipped for live servers)."""
    return [
        *(
            Check.of(partial(read_only_operation_conforms, operation), operation.label)
            for operation in operations_of(READ_ONLY_OPERATIONS)
        ),
        *(
            Check.of(partial(generate_and_chat_conform, operation), operation.label)
            for operation in operations_of(GENERATING_OPERATIONS)
        ),
    ]
