"""Contract checks of Ollama's `/api/ps`: Schemathesis property tests, semantic rules and `ollama-contract verify`."""

from __future__ import annotations

from .report import CheckResult, Verification, render_text
from .rules import content_type_problem, ps_problems
from .target import ContractTarget
from .verify import SuiteError, Unreachable, verify

__all__ = [
    "CheckResult",
    "ContractTarget",
    "SuiteError",
    "Unreachable",
    "Verification",
    "content_type_problem",
    "ps_problems",
    "render_text",
    "verify",
]
