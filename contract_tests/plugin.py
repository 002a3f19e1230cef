"""pytest plugin of the contract suite's command-line options: where the checks point and how hard they try.

Enable it in the root `conftest.py` (`pytest_plugins = ["ollama_contract_kit.contract_tests.plugin"]`)
or with `-p ollama_contract_kit.contract_tests.plugin`. The fixtures are registered with the kit
(`contract_tests.fixtures`); they read these options when they are there, the environment when not.
"""

from __future__ import annotations

import pytest

from .defaults import LIVE_REQUESTS_PER_SECOND, SUITE_MAX_EXAMPLES, TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS

#: Loads the fixtures too where plugins are not loaded automatically (PYTEST_DISABLE_PLUGIN_AUTOLOAD).
pytest_plugins = ["ollama_contract_kit.contract_tests.fixtures"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ollama-contract", "Ollama contract checks")
    group.addoption(
        "--ollama-url",
        default=None,
        help="check this server (default $OLLAMA_HOST, else $OLLAMA_URL; none: the in-process mock)",
    )
    group.addoption(
        "--ollama-headers",
        default=None,
        help="extra headers: JSON, a .json file or quoted pseudo-JSON (default $OLLAMA_HEADERS)",
    )
    group.addoption("--ollama-read-only", action="store_true", help="skip the checks that change the server's state")
    group.addoption(
        "--contract-max-examples", type=int, default=SUITE_MAX_EXAMPLES, help="Hypothesis examples per operation"
    )
    group.addoption(
        "--ollama-max-rate", type=float, default=LIVE_REQUESTS_PER_SECOND, help="requests per second at most"
    )
    group.addoption(
        "--ollama-grace",
        type=float,
        default=UNLOAD_GRACE_SECONDS,
        help="seconds an unloaded model may take to leave /api/ps",
    )
    group.addoption("--ollama-timeout", type=float, default=TIMEOUT_SECONDS, help="seconds to wait for each answer")
