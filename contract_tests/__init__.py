"""Contract checks of Ollama: property tests, semantic rules, `ollama-contract verify`, the differential judgement."""

from __future__ import annotations

from .captures import Capture, CaptureError, read_captures, replay
from .differential import Difference, compare
from .report import CheckResult, Verification, render_text
from .rules import content_type_problem, ps_problems
from .target import ContractTarget
from .verify import SuiteError, Unreachable, verify
from .volatility import Judge, Volatility, ollama_volatility

__all__ = [
    "Capture",
    "CaptureError",
    "CheckResult",
    "ContractTarget",
    "Difference",
    "Judge",
    "SuiteError",
    "Unreachable",
    "Verification",
    "Volatility",
    "compare",
    "content_type_problem",
    "ollama_volatility",
    "ps_problems",
    "read_captures",
    "render_text",
    "replay",
    "verify",
]
