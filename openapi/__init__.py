"""The contract: Ollama's OpenAPI documents, and validation of JSON against their schemas."""

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
