"""The Hypothesis profile of the contract suite's Schemathesis tests."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings

PROFILE = "ollama-contract"
DEFAULT_MAX_EXAMPLES = 25


def register_profile(max_examples: int = DEFAULT_MAX_EXAMPLES, database: bool = True) -> None:
    """(Re)define the suite's profile; the plugin calls it with the command line's values.

    The profile inherits the active one, so Hypothesis's own ``ci`` profile (derandomized, no example
    database; loaded when ``CI`` or ``GITHUB_ACTIONS`` is set) keeps its meaning; ``database=False`` only
    ever turns the example database off.
    """
    overrides: dict[str, Any] = {} if database else {"database": None}
    settings.register_profile(
        PROFILE,
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
        **overrides,
    )


def suite_settings() -> settings:
    """The profile, registered with its defaults when no plugin did it first."""
    try:
        return settings.get_profile(PROFILE)
    except Exception:  # hypothesis raises InvalidArgument for an unknown profile
        register_profile()
        return settings.get_profile(PROFILE)
