"""pytest plugin of the contract suite: where the checks point (`--ollama-url`) and how hard they try."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ollama_contract_kit.client.hosts import base_url
from ollama_contract_kit.commandline.headers import parse_headers

from .defaults import LIVE_REQUESTS_PER_SECOND, TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS
from .profile import DEFAULT_MAX_EXAMPLES, register_profile
from .target import ContractTarget


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ollama-contract", "Ollama contract checks")
    group.addoption(
        "--ollama-url",
        default=os.environ.get("OLLAMA_URL"),
        help="check this server (default $OLLAMA_URL; none: the in-process mock)",
    )
    group.addoption(
        "--ollama-headers",
        default=os.environ.get("OLLAMA_HEADERS"),
        help="extra headers: JSON, a .json file or quoted pseudo-JSON",
    )
    group.addoption("--ollama-read-only", action="store_true", help="skip the checks that change the server's state")
    group.addoption(
        "--contract-max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="Hypothesis examples per operation"
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


def pytest_configure(config: pytest.Config) -> None:
    register_profile(config.getoption("--contract-max-examples"), database=not config.getoption("--ollama-url"))


@pytest.fixture(scope="session")
def contract_target(request: pytest.FixtureRequest) -> Iterator[ContractTarget]:
    """The server the contract suite checks: `--ollama-url`, else a fresh in-process mock."""
    url = request.config.getoption("--ollama-url")
    read_only = bool(request.config.getoption("--ollama-read-only"))
    grace = float(request.config.getoption("--ollama-grace"))
    if url:
        headers = parse_headers(request.config.getoption("--ollama-headers"), "--ollama-headers")
        yield ContractTarget(
            description=base_url(url),
            base_url=base_url(url),
            headers=headers,
            live=True,
            read_only=read_only,
            grace_seconds=grace,
            max_rate=float(request.config.getoption("--ollama-max-rate")),
            timeout=float(request.config.getoption("--ollama-timeout")),
        )
        return
    from ollama_contract_kit.mock_server import MockConfig, create_app

    app = create_app(MockConfig(log_requests=False))
    yield ContractTarget(description="the in-process mock", app=app, read_only=read_only, grace_seconds=grace)
