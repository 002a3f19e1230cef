"""Schemathesis over every operation of the three documents, against the mock served on a socket.

`make fuzz` runs it long (OLLAMA_FUZZ_EXAMPLES, default 2000 there); `make test` runs a modest count.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from ollama_contract_kit.contract_tests import checks  # noqa: F401  (the kit's checks join the built-in ones)
from ollama_contract_kit.contract_tests.fuzz_config import SCHEMATHESIS_CONFIG
from ollama_contract_kit.contract_tests.properties import Case, Operation, operations_of, run_operation_cases
from ollama_contract_kit.mock_server import MockOllama, Pace
from ollama_contract_kit.openapi import spec_path

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

EXAMPLES = int(os.environ.get("OLLAMA_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
#: The mock's own control API gets a third of the generated cases: a random world takes long to draw.
CONTROL_FUZZ = settings(FUZZ, max_examples=max(1, EXAMPLES // 3))
#: The coverage phase sends over a thousand deterministic variants of a world to `PUT /_mock/world` (a
#: quarter of this module's time): `make fuzz` sends them; `make test` leaves them to the world's own tests.
_WORLD_COVERAGE = (
    []
    if "OLLAMA_FUZZ_EXAMPLES" in os.environ
    else [{"include-path": "/_mock/world", "include-method": "PUT", "phases": {"coverage": {"enabled": False}}}]
)
_UNEXPECTED = {"phases": {"coverage": {"unexpected-methods": ["PUT", "POST", "PATCH", "DELETE", "TRACE"]}}}

#: The configuration `schemathesis.toml` ships (plus TRACE: the mock answers it like Ollama).
ollama_api = schemathesis.openapi.from_path(
    str(spec_path("ollama")), config=schemathesis.Config.from_dict(SCHEMATHESIS_CONFIG | _UNEXPECTED)
)
openai_api = schemathesis.openapi.from_path(
    str(spec_path("openai")), config=schemathesis.Config.from_dict(SCHEMATHESIS_CONFIG | _UNEXPECTED)
)
#: The control API answers 400 for worlds the schema allows but the mock's rules refuse (a running
#: model that is not installed, a model installed twice): that is documented, not a failure.
control_api = schemathesis.openapi.from_path(
    str(spec_path("control")),
    config=schemathesis.Config.from_dict(
        _UNEXPECTED
        | {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404"]}}}
        | {"operations": _WORLD_COVERAGE}
    ),
)


@pytest.fixture(scope="module")
def served() -> Iterator[MockOllama]:
    with MockOllama(log_requests=False, pace=Pace.instant()) as mock:
        yield mock  # instant loads and tokens: the answers' form is judged here, not the pace


def _by_label(schema: Any) -> dict[str, Operation]:
    """The schema's operations by label: collected cheaply, their cases built only when a test runs
    (each xdist worker collects every test; `@schema.parametrize()` would build every case in each)."""
    return {operation.label: operation for operation in operations_of(schema)}


def _conforms(served: MockOllama) -> Callable[[Case], None]:
    def test(case: Case) -> None:
        case.call_and_validate(base_url=served.url, timeout=10)

    return test


OLLAMA_OPERATIONS, OPENAI_OPERATIONS, CONTROL_OPERATIONS = map(_by_label, (ollama_api, openai_api, control_api))


@pytest.mark.parametrize("label", OLLAMA_OPERATIONS)
def test_ollama_api_on_a_socket_conforms(label: str, served: MockOllama) -> None:
    # 5xx only where Ollama answers them (fuzz_config): Schemathesis's not_a_server_error judges that.
    run_operation_cases(OLLAMA_OPERATIONS[label], _conforms(served), FUZZ)


@pytest.mark.parametrize("label", OPENAI_OPERATIONS)
def test_openai_layer_on_a_socket_conforms(label: str, served: MockOllama) -> None:
    run_operation_cases(OPENAI_OPERATIONS[label], _conforms(served), FUZZ)


@pytest.mark.parametrize("label", CONTROL_OPERATIONS)
def test_control_api_on_a_socket_conforms(label: str, served: MockOllama) -> None:
    def test(case: Case) -> None:
        response = case.call_and_validate(base_url=served.url, timeout=10)
        assert response.status_code < 500
        if case.path in ("/_mock/faults",) and case.method == "POST":
            served.clear_faults()  # a drop or latency fault would only slow the rest of the run

    run_operation_cases(CONTROL_OPERATIONS[label], test, CONTROL_FUZZ)
