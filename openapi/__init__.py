"""The floor every package stands on: the contract (OpenAPI documents, validation) and Ollama's own rules
(model names, Go durations and keep-alive, Go's timestamps, what changed between releases)."""

from __future__ import annotations

from .loader import DOCUMENTS, load_document, spec_path
from .validation import ContractViolation, Problem, SchemaValidator, validator_for

__all__ = [
    "DOCUMENTS",
    "ContractViolation",
    "Problem",
    "SchemaValidator",
    "load_document",
    "spec_path",
    "validator_for",
]
