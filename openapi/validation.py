"""Validate JSON values against the contract's schemas, with errors that name the JSON path."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from .loader import DOCUMENTS, load_document, spec_path

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

# jsonschema and referencing are imported on first validation, not with this module: a mock serving
# its embedded world never validates anything, and starts about 50 ms sooner without them.

#: Problems listed for one value at most: a value with a million wrong items is judged in bounded
#: time and memory (jsonschema builds each error as an object of a few kilobytes).
MAX_PROBLEMS = 20
#: Problems counted, not described, past the listed ones before counting stops ("and more than ...").
MAX_COUNTED = 10_000
#: Characters of one problem's message kept: jsonschema quotes the whole offending value in it.
MAX_MESSAGE_CHARS = 400


@dataclass(frozen=True)
class Problem:
    """One way a value breaks the contract: where (a JSON path) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ContractViolation(ValueError):
    """A value does not match the contract; `problems` lists each violation."""

    def __init__(self, subject: str, problems: list[Problem]) -> None:
        self.subject = subject
        self.problems = problems
        super().__init__(f"{subject}: {problems[0]}" if problems else subject)


def _document_uri(document: str) -> str:
    return spec_path(document).as_uri()


@functools.cache
def _registry() -> Registry:
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    resources = [(_document_uri(name), DRAFT202012.create_resource(load_document(name))) for name in DOCUMENTS]
    return Registry().with_resources(resources)


def _is_json_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def _strict_validator_class() -> Any:
    """Draft 2020-12, except that `integer` means an integer literal: `4096.0` is a number, not an integer.

    Go's encoding/json (Ollama's own client and CLI) refuses `4096.0` or `4.096e3` for an int field,
    while JSON Schema alone would accept any number with a zero fraction.
    """
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_json_integer)
    return validators.extend(Draft202012Validator, type_checker=checker)  # type: ignore[no-untyped-call]


def _explain(error: ValidationError) -> Problem:
    from jsonschema.exceptions import best_match

    error = best_match([error]) if error.context else error
    described = error.schema.get("description") if isinstance(error.schema, dict) else None
    message = error.message
    if len(message) > MAX_MESSAGE_CHARS:
        # The quoted value comes first and the reason last: keep both ends, cut the middle of the value.
        half = MAX_MESSAGE_CHARS // 2
        message = f"{message[:half]}…({len(message) - 2 * half:,} characters)…{message[-half:]}"
    if error.validator in {"pattern", "format", "const", "enum"} and described:
        first_sentence = " ".join(described.split()).split(". ")[0].rstrip(".")
        message = f"{message}; expected {first_sentence[0].lower()}{first_sentence[1:]}"
    return Problem(path=error.json_path, message=message)


def _inlined(node: Any, registry: Registry, base: str, active: frozenset[str] = frozenset()) -> Any:
    """`node` with every non-recursive `$ref` replaced by its target, so validating looks nothing up.

    jsonschema resolves a `$ref` on every visit; a 2,000-model world visits tens of thousands. A
    recursive reference stays a `$ref` (made absolute) and is resolved as before.
    """
    if isinstance(node, list):
        return [_inlined(item, registry, base, active) for item in node]
    if not isinstance(node, dict):
        return node
    siblings = {key: _inlined(value, registry, base, active) for key, value in node.items() if key != "$ref"}
    reference = node.get("$ref")
    if not isinstance(reference, str):
        return siblings
    target = urljoin(base, reference)
    if target in active:
        return {**siblings, "$ref": target}
    contents = registry.resolver(base_uri=base).lookup(reference).contents
    contents = _inlined(contents, registry, target.partition("#")[0], active | {target})
    return {**siblings, "allOf": [contents]} if siblings else contents


class SchemaValidator:
    """Validates values against one schema of a contract document: a named one, or any at a JSON pointer."""

    def __init__(self, document: str, schema_name: str, pointer: str | None = None) -> None:
        if pointer is None and schema_name not in load_document(document).get("components", {}).get("schemas", {}):
            raise ValueError(f"{spec_path(document).name} has no schema {schema_name!r}")
        self.name = schema_name
        from jsonschema import FormatChecker

        reference = f"{_document_uri(document)}#{pointer or '/components/schemas/' + schema_name}"
        schema = _inlined({"$ref": reference}, _registry(), _document_uri(document))
        self._validator = _strict_validator_class()(schema, registry=_registry(), format_checker=FormatChecker())

    @property
    def schema(self) -> Any:
        """The schema with its references inlined (what another engine may compile)."""
        return self._validator.schema

    def problems(self, value: Any, limit: int = MAX_PROBLEMS) -> list[Problem]:
        """Return the first `limit` violations of the schema found, in document order (empty when valid).

        Past `limit`, validation stops early: one last problem at `$` says how many more there are
        (counted up to MAX_COUNTED), so a hostile value costs bounded time and memory.
        """
        found = self._validator.iter_errors(value)
        errors = sorted(itertools.islice(found, limit), key=lambda error: list(error.absolute_path))
        listed = [_explain(error) for error in errors]
        more = sum(1 for _ in itertools.islice(found, MAX_COUNTED + 1))
        if more:
            counted = f"more than {MAX_COUNTED:,}" if more > MAX_COUNTED else f"{more:,}"
            listed.append(Problem("$", f"and {counted} more {'problem' if more == 1 else 'problems'} not listed"))
        return listed

    def check(self, value: Any, subject: str) -> None:
        """Raise ContractViolation naming `subject` when `value` breaks the schema."""
        problems = self.problems(value)
        if problems:
            raise ContractViolation(subject, problems)


@functools.cache
def validator_for(document: str, schema_name: str) -> SchemaValidator:
    """Return the (cached) validator of one schema, e.g. `validator_for("ollama", "PsResponse")`."""
    return SchemaValidator(document, schema_name)


def validator_at(document: str, pointer: str) -> SchemaValidator:
    """A validator of the schema at a JSON pointer (`/paths/~1api~1pull/post/...`), e.g. an inline one."""
    return SchemaValidator(document, pointer.rsplit("/", 1)[-1], pointer)
