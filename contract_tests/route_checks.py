"""The checks of single answers: `/api/ps` against the schema and the rules, wrong methods, unknown paths and models."""

from __future__ import annotations

from functools import partial

from ollama_contract_kit.openapi import validator_for

from .checking import Check, ContractRun
from .rules import content_type_problem, ps_problems, server_time

NO_SUCH_MODEL = "ollama-contract-kit-no-such-model:0"
#: The methods Ollama's router refuses on `/api/ps`.
WRONG_METHODS = ("HEAD", "POST", "PUT", "PATCH", "DELETE")


def ps_answers_the_schema_and_the_rules(run: ContractRun) -> None:
    """GET /api/ps: 200, JSON, valid against the schema, names, sizes, order and expiry consistent."""
    target = run.target
    answer = target.request("GET", "/api/ps")
    assert answer.status == 200, f"GET {answer.url} answered {answer.status}: {answer.excerpt()}"
    problem = content_type_problem(200, answer.headers.get("Content-Type"))
    assert problem is None, f"GET {answer.url}: {problem}"
    try:
        body = answer.json()
    except ValueError:
        raise AssertionError(f"GET {answer.url}: the body is not JSON: {answer.excerpt()}") from None
    problems = [str(p) for p in validator_for("ollama", "PsResponse").problems(body)]
    problems += ps_problems(body, now=server_time(answer.headers.get("Date")), version=target.version)
    assert not problems, f"GET {answer.url}:\n" + "\n".join(problems) + f"\nbody: {answer.excerpt()}"


def ps_answers_only_get(method: str, run: ContractRun) -> None:
    """Other methods on /api/ps: 405 with `Allow: GET` and gin's plain-text body (404 before Ollama 0.7)."""
    target = run.target
    answer = target.request(method, "/api/ps")
    if target.routes_wrong_methods_to_404 and answer.status == 404:
        assert method == "HEAD" or answer.body.strip() == b"404 page not found", (
            f"{method} {answer.url}: {answer.excerpt()!r}"
        )
        return  # Ollama before 0.7 had no 405 handling: a plain 404 is what it answers
    assert answer.status == 405, f"{method} {answer.url} answered {answer.status}, expected 405 (Ollama 0.7 and later)"
    assert "GET" in [item.strip() for item in answer.headers.get("Allow", "").split(",")], (
        f"{method} {answer.url}: Allow is {answer.headers.get('Allow')!r}, expected it to name GET"
    )
    assert content_type_problem(405, answer.headers.get("Content-Type"), answer.body) is None, (
        f"{method} {answer.url}: Content-Type {answer.headers.get('Content-Type')!r}, expected text/plain"
    )


def unknown_path_is_a_plain_404(run: ContractRun) -> None:
    """An unknown path: 404 `404 page not found`."""
    answer = run.target.request("GET", "/api/no-such-route")
    assert answer.status == 404, f"GET {answer.url} answered {answer.status}, expected 404"
    assert answer.body.strip() == b"404 page not found", f"GET {answer.url}: body {answer.excerpt()!r}"


def unknown_model_is_404_with_error_text(run: ContractRun) -> None:
    """Loading a model that is not installed: 404 `model '...' not found` (nothing is loaded)."""
    answer = run.target.request("POST", "/api/generate", {"model": NO_SUCH_MODEL})
    assert answer.status == 404, f"POST {answer.url} answered {answer.status}: {answer.excerpt()}"
    data = answer.json_or_none()
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    assert NO_SUCH_MODEL in error and "not found" in error, f"POST {answer.url}: error {answer.excerpt()!r}"


def keep_alive_without_unit_is_400(run: ContractRun) -> None:
    """`keep_alive: "10"` is refused before anything loads: 400 `time: missing unit in duration "10"`."""
    answer = run.target.request("POST", "/api/generate", {"model": NO_SUCH_MODEL, "keep_alive": "10"})
    assert answer.status == 400, f"POST {answer.url} answered {answer.status}: {answer.excerpt()}"
    assert b"missing unit" in answer.body, f"POST {answer.url}: {answer.excerpt()!r}"


def route_checks() -> list[Check]:
    """The answer checks, in the order they run."""
    return [
        Check.of(ps_answers_the_schema_and_the_rules),
        *(Check.of(partial(ps_answers_only_get, method), method) for method in WRONG_METHODS),
        Check.of(unknown_path_is_a_plain_404),
        Check.of(unknown_model_is_404_with_error_text),
        Check.of(keep_alive_without_unit_is_400),
    ]
