"""The contract suite as pytest tests: one test per check of the registry, for pytest-based projects.

Import it into a test module (`from ollama_contract_kit.contract_tests.suite import *`); the
`contract_target` and `contract_run` fixtures come with the kit (registered automatically), the
command-line options with `ollama_contract_kit.contract_tests.plugin`. Live servers are never asked
to generate text: the Schemathesis runs against them cover the read-only operations, and the
lifecycle checks only load and unload the smallest installed model, then leave the server as they
found it.
"""

from __future__ import annotations

import pytest

from .checking import Check, CheckSkipped, ContractRun
from .registry import CHECKS

__all__ = ["test_ollama_contract"]

_MISSING_FIXTURES = (
    "the contract suite's fixtures are not loaded (is PYTEST_DISABLE_PLUGIN_AUTOLOAD set?): add "
    'pytest_plugins = ["ollama_contract_kit.contract_tests.plugin"] to your root conftest.py, '
    "or run pytest -p ollama_contract_kit.contract_tests.plugin"
)


@pytest.mark.parametrize("check", CHECKS, ids=[check.name for check in CHECKS])
def test_ollama_contract(check: Check, request: pytest.FixtureRequest) -> None:
    """One check of Ollama's contract against `contract_target` (the in-process mock unless told otherwise)."""
    try:
        run: ContractRun = request.getfixturevalue("contract_run")
    except pytest.FixtureLookupError:
        pytest.fail(_MISSING_FIXTURES, pytrace=False)
    try:
        check.run(run)
    except CheckSkipped as reason:
        pytest.skip(str(reason))
