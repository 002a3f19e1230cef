"""Where the server under check is: a command-line value, else `OLLAMA_HOST` (as Ollama's tools read it), else
`OLLAMA_URL` (the name the pytest plugin used first)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ollama_contract_kit.client.hosts import InvalidURL, base_url

#: The environment variables that name the server, the preferred one first.
ENVIRONMENT_NAMES = ("OLLAMA_HOST", "OLLAMA_URL")


class LocationError(Exception):
    """The server's location cannot be used; the message names where it came from."""


@dataclass(frozen=True)
class Location:
    """The server's base URL, and what named it (`--url`, `OLLAMA_HOST`, ...)."""

    url: str
    source: str


def server_location(given: str | None, option: str, environ: Mapping[str, str]) -> Location | None:
    """The server `option`'s value names, else the environment's; None when nothing names one."""
    named = [(option, given)] if given is not None else []
    named += [(name, environ.get(name, "")) for name in ENVIRONMENT_NAMES if environ.get(name, "").strip()]
    located = [_resolved(value, source) for source, value in named]
    if not located:
        return None
    if given is None and len({location.url for location in located}) > 1:
        raise LocationError(
            " and ".join(f"{location.source} ({location.url})" for location in located)
            + f" name different servers: unset one, or choose with {option}"
        )
    return located[0]


def _resolved(value: str | None, source: str) -> Location:
    try:
        return Location(base_url(value or ""), source)
    except InvalidURL as error:
        raise LocationError(f"{source}: {error}") from None
