"""The Hypothesis settings of the contract suite's Schemathesis runs."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings


def contract_settings(max_examples: int, database: bool = True) -> settings:
    """Settings for one run: `max_examples` per operation, no deadline, no example database with `database=False`.

    They inherit the active profile, so Hypothesis's own ``ci`` profile (derandomized, no example
    database; loaded when ``CI`` or ``GITHUB_ACTIONS`` is set) keeps its meaning; ``database=False``
    only ever turns the example database off.
    """
    overrides: dict[str, Any] = {} if database else {"database": None}
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
        **overrides,
    )
