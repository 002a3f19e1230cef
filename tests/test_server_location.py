"""One spelling of "where is the server": `--url`/`--ollama-url`, else OLLAMA_HOST, else OLLAMA_URL (older name)."""

from __future__ import annotations

import pytest

from ollama_contract_kit.contract_tests.location import LocationError, server_location


@pytest.mark.parametrize(
    ("given", "environment", "expected"),
    [
        (None, {}, None),
        ("gpu-box", {"OLLAMA_HOST": "elsewhere:1"}, ("http://gpu-box:11434", "--url")),
        (None, {"OLLAMA_HOST": "0.0.0.0"}, ("http://0.0.0.0:11434", "OLLAMA_HOST")),
        (None, {"OLLAMA_URL": "https://example.com/ollama"}, ("https://example.com:443/ollama", "OLLAMA_URL")),
        (None, {"OLLAMA_HOST": "127.0.0.1", "OLLAMA_URL": "http://127.0.0.1:11434"}, ("http://127.0.0.1:11434",
                                                                                "OLLAMA_HOST")),
        (None, {"OLLAMA_HOST": "  "}, None),
    ],
)  # fmt: skip
def test_the_server_is_named_once(
    given: str | None, environment: dict[str, str], expected: tuple[str, str] | None
) -> None:
    location = server_location(given, "--url", environment)
    assert (None if location is None else (location.url, location.source)) == expected


def test_two_variables_naming_different_servers_are_refused() -> None:
    with pytest.raises(LocationError) as raised:
        server_location(None, "--url", {"OLLAMA_HOST": "a:1", "OLLAMA_URL": "b:2"})
    assert str(raised.value) == (
        "OLLAMA_HOST (http://a:1) and OLLAMA_URL (http://b:2) name different servers: unset one, or choose with --url"
    )


def test_a_bad_value_is_named_with_its_source() -> None:
    with pytest.raises(LocationError, match=r"^OLLAMA_HOST: malformed URL 'http://\[::1'"):
        server_location(None, "--url", {"OLLAMA_HOST": "http://[::1"})
