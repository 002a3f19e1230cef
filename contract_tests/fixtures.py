"""pytest fixtures of the contract suite, registered with the kit (`pytest11`): `contract_target`, `contract_run`.

They do nothing until a test asks for them (the suite's tests do), import nothing heavy before
that, and add no command-line options: those come with `ollama_contract_kit.contract_tests.plugin`,
which a project enables when it wants them (an option name could clash with the project's own).
Without the options, the server comes from `OLLAMA_HOST` (or `OLLAMA_URL`), the headers from
`OLLAMA_HEADERS`; with neither, the suite checks a fresh in-process mock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .checking import ContractRun
    from .target import ContractTarget


@pytest.fixture(scope="session")
def contract_target(request: pytest.FixtureRequest) -> ContractTarget:
    """The server the contract suite checks: `--ollama-url`, `OLLAMA_HOST` or `OLLAMA_URL`, else an in-process mock."""
    from ollama_contract_kit.commandline.headers import InvalidHeaders, parse_headers

    from .defaults import LIVE_REQUESTS_PER_SECOND, SUITE_MAX_EXAMPLES, TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS
    from .location import LocationError, server_location
    from .target import ContractTarget

    config = request.config
    try:
        location = server_location(config.getoption("--ollama-url", default=None), "--ollama-url", os.environ)
        given_headers = config.getoption("--ollama-headers", default=None)
        source = "--ollama-headers" if given_headers is not None else "OLLAMA_HEADERS"
        headers = parse_headers(given_headers if given_headers is not None else os.environ.get(source), source)
    except (LocationError, InvalidHeaders) as error:
        pytest.fail(f"the contract suite: {error}", pytrace=False)
    read_only = bool(config.getoption("--ollama-read-only", default=False))
    grace_seconds = float(config.getoption("--ollama-grace", default=UNLOAD_GRACE_SECONDS))
    max_examples = int(config.getoption("--contract-max-examples", default=SUITE_MAX_EXAMPLES))
    if location is not None:
        return ContractTarget(
            description=location.url,
            base_url=location.url,
            headers=headers,
            live=True,
            read_only=read_only,
            grace_seconds=grace_seconds,
            max_examples=max_examples,
            max_rate=float(config.getoption("--ollama-max-rate", default=LIVE_REQUESTS_PER_SECOND)),
            timeout=float(config.getoption("--ollama-timeout", default=TIMEOUT_SECONDS)),
        )
    from ollama_contract_kit.mock_server import MockConfig, create_app

    return ContractTarget(
        description="the in-process mock",
        app=create_app(MockConfig(log_requests=False)),
        read_only=read_only,
        grace_seconds=grace_seconds,
        max_examples=max_examples,
    )


@pytest.fixture(scope="module")
def contract_run(contract_target: ContractTarget) -> Iterator[ContractRun]:
    """One run of the checks over `contract_target`; afterwards the server is left as it was found."""
    from .checking import ContractRun

    run = ContractRun(contract_target)
    yield run
    run.finish()
