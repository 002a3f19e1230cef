"""Contract checks of Ollama: the checks' registry, `ollama-contract verify`, the pytest suite, the proxy and the
differential judgement.

Names are imported on first use, so the pytest fixtures registered with the kit cost every project
that installs it nothing until a test asks for them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .captures import Capture, CaptureError, read_captures, replay
    from .differential import Difference, compare
    from .report import CheckResult, Verification, render_text
    from .rules import content_type_problem, ps_problems
    from .runner import Unreachable, verify
    from .target import ContractTarget
    from .volatility import Judge, Volatility, ollama_volatility

_HOMES = {
    "Capture": ".captures",
    "CaptureError": ".captures",
    "CheckResult": ".report",
    "ContractTarget": ".target",
    "Difference": ".differential",
    "Judge": ".volatility",
    "Unreachable": ".runner",
    "Verification": ".report",
    "Volatility": ".volatility",
    "compare": ".differential",
    "content_type_problem": ".rules",
    "ollama_volatility": ".volatility",
    "ps_problems": ".rules",
    "read_captures": ".captures",
    "render_text": ".report",
    "replay": ".captures",
    "verify": ".runner",
}

__all__ = [
    "Capture",
    "CaptureError",
    "CheckResult",
    "ContractTarget",
    "Difference",
    "Judge",
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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name], __name__), name)
