"""Schemathesis over every operation of the three documents, against the mock served on a socket.

`make fuzz` runs it long (OLLAMA_FUZZ_EXAMPLES, default 2000 there); `make test` runs a modest count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from ollama_contract_kit.contract_tests import checks  # noqa: F401  (the kit's checks join the built-in ones)
from ollama_contract_kit.contract_tests.fuzz_config import SCHEMATHESIS_CONFIG
from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.openapi import spec_path

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

EXAMPLES = int(os.environ.get("OLLAMA_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
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
        _UNEXPECTED | {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404"]}}}
    ),
)


@pytest.fixture(scope="module")
def served() -> Iterator[MockOllama]:
    with MockOllama(log_requests=False) as mock:
        yield mock


@ollama_api.parametrize()
@FUZZ
def test_ollama_api_on_a_socket_conforms(case: Any, served: MockOllama) -> None:
    # 5xx only where Ollama answers them (fuzz_config): Schemathesis's not_a_server_error judges that.
    case.call_and_validate(base_url=served.url, timeout=10)


@openai_api.parametrize()
@FUZZ
def test_openai_layer_on_a_socket_conforms(case: Any, served: MockOllama) -> None:
    case.call_and_validate(base_url=served.url, timeout=10)


@control_api.parametrize()
@FUZZ
def test_control_api_on_a_socket_conforms(case: Any, served: MockOllama) -> None:
    response = case.call_and_validate(base_url=served.url, timeout=10)
    assert response.status_code < 500
    if case.path in ("/_mock/faults",) and case.method == "POST":
        served.clear_faults()  # a drop or latency fault would only slow the rest of the run
