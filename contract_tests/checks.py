"""The kit's checks as Schemathesis checks: registered globally, so pytest runs and the CLI share them.

Each guards on method, path and status: Schemathesis also sends other methods (coverage phase).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

from ollama_contract_kit.openapi.releases import Version

from .rules import content_type_problem, ps_problems, server_time

OLLAMA_PATHS = frozenset(
    {"/", "/api/version", "/api/tags", "/api/ps", "/api/generate", "/api/chat", "/api/show", "/api/embed",
     "/api/embeddings", "/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/status",
     "/api/blobs/{digest}"}
)  # fmt: skip


@schemathesis.deserializer("application/x-ndjson")
def ndjson_stream(ctx: Any, response: Any) -> list[Any]:
    """An NDJSON answer (a stream of generate, chat or progress objects) read as the array of its lines."""
    return [json.loads(line) for line in response.content.splitlines() if line.strip()]


def _header(response: Any, name: str) -> str | None:
    values = response.headers.get(name.lower()) or response.headers.get(name)
    return values[0] if values else None


def check_ps_rules(response: Any, case: Any, version: Version | None = None) -> bool | None:
    """Raise when a `GET /api/ps` answer breaks a rule (for a server of `version`); None for other answers."""
    if case.method.upper() != "GET" or case.path != "/api/ps" or response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None  # the schema check reports a body that is not JSON
    problems = ps_problems(body, now=server_time(_header(response, "Date")), version=version)
    if problems:
        raise AssertionError("\n".join(problems))
    return True


@schemathesis.check
def ollama_ps_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """`/api/ps`: name equals model, size_vram within size, latest expiry first, nothing long expired."""
    return check_ps_rules(response, case)


@schemathesis.check
def ollama_content_type(ctx: Any, response: Any, case: Any) -> bool | None:
    """JSON (UTF-8) for JSON answers; plain text for 404 and 405, as gin writes them."""
    if case.path not in OLLAMA_PATHS or case.path == "/" or case.method.upper() == "HEAD":
        return None
    if response.status_code not in (200, 400, 404, 405) or (response.status_code == 200 and case.path != "/api/ps"):
        return None
    problem = content_type_problem(response.status_code, _header(response, "Content-Type"), response.content or b"")
    if problem:
        raise AssertionError(f"{case.method} {case.path}: {problem}")
    return True


@schemathesis.check
def ollama_method_not_allowed(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 405 names the allowed methods in `Allow` and says `405 method not allowed`."""
    if case.path not in OLLAMA_PATHS or response.status_code != 405:
        return None
    allow = _header(response, "Allow")
    if not allow:
        raise AssertionError(f"{case.method} {case.path}: 405 without an Allow header")
    if case.method.upper() != "HEAD" and response.content and response.content != b"405 method not allowed":
        raise AssertionError(
            f"{case.method} {case.path}: 405 body {response.content[:60]!r}, expected '405 method not allowed'"
        )
    return True
