"""Header input in every form users paste it, the base URL rules, and masking of secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_contract_kit.client import InvalidHeaders, InvalidURL, base_url, mask_headers, parse_headers
from ollama_contract_kit.commandline.headers import mask_query, mask_secret

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,20}", fullmatch=True)
VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\\"), max_size=40)
HEADERS = st.dictionaries(NAMES, VALUES, max_size=5)


@settings(max_examples=200)
@given(HEADERS)
def test_json_text_round_trips(headers: dict[str, str]) -> None:
    assert parse_headers(json.dumps(headers)) == headers


@settings(max_examples=200)
@given(HEADERS)
def test_single_quoted_pseudo_json_round_trips(headers: dict[str, str]) -> None:
    pseudo = repr(headers)
    assert parse_headers(pseudo) == headers
    assert parse_headers(f'"{pseudo}"') == headers, "with the outer quotes users copy from docs"


@settings(max_examples=50)
@given(headers=HEADERS)
def test_json_file_round_trips(tmp_path_factory: pytest.TempPathFactory, headers: dict[str, str]) -> None:
    path = tmp_path_factory.mktemp("headers") / "headers.json"
    path.write_text(json.dumps(headers))
    assert parse_headers(str(path)) == headers


def test_integration_library_docs_form() -> None:
    assert parse_headers("{'Authorization':'Bearer x'}") == {"Authorization": "Bearer x"}
    assert parse_headers("\"{'Authorization':'Bearer x'}\"") == {"Authorization": "Bearer x"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not a JSON object"),
        ("[1, 2]", "expected a JSON object"),
        ('{"Bad Name": "x"}', "not a valid header name"),
        ('{"X-A": {"nested": 1}}', "must be text"),
        ('{"X-A": "a\\r\\nInjected: 1"}', "line break"),
        ("no-such-file.json", "neither"),
        ('{"X-A": true}', "must be text"),
    ],
)
def test_invalid_header_input_is_a_clear_error(text: str, reason: str) -> None:
    with pytest.raises(InvalidHeaders, match=reason):
        parse_headers(text, "--headers")


@settings(max_examples=100)
@given(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=30))
def test_errors_never_echo_a_secret(secret: str) -> None:
    for text in (f"{{'Authorization': 'Bearer {secret}'", f'{{"Authorization": "Bearer {secret}"', f"Bearer {secret}"):
        try:
            parse_headers(text, "--headers")
        except InvalidHeaders as error:
            assert secret not in str(error)


def test_masking_keeps_only_the_scheme() -> None:
    masked = mask_headers(
        {"Authorization": "Bearer abc", "X-API-Key": "k", "Cookie": "s=1", "Accept": "application/json"}
    )
    assert masked == {"Authorization": "Bearer ***", "X-API-Key": "***", "Cookie": "***", "Accept": "application/json"}


@pytest.mark.parametrize(
    "name", ["X-Auth", "Proxy-Authorization", "X-Access-Token", "Api-Key", "X-Client-Secret", "Set-Cookie", "X-Sig"]
)
def test_every_header_named_for_a_credential_is_masked(name: str) -> None:
    assert mask_headers({name: "s3cr3t"}) == {name: "***"}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/api/ps?token=abc&model=x", "/api/ps?token=***&model=x"),
        ("/api/ps?api_key=abc;access%5Ftoken=def", "/api/ps?api_key=***;access%5Ftoken=***"),
        ("/api/ps?model=llama3&keep=", "/api/ps?model=llama3&keep="),
        ("/api/ps", "/api/ps"),
        ("http://h/x?Password=p#frag", "http://h/x?Password=***#frag"),
    ],
)
def test_credential_query_parameters_are_masked(target: str, expected: str) -> None:
    assert mask_query(target) == expected


def test_header_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text("Authorization: Bearer x")
    with pytest.raises(InvalidHeaders, match="h.json"):
        parse_headers(str(path))


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("example.com", "http://example.com:11434"),
        ("example.com:8080", "http://example.com:8080"),
        ("http://example.com", "http://example.com:80"),
        ("https://example.com/ollama/", "https://example.com:443/ollama"),
        ("https://example.com:8443/a/b", "https://example.com:8443/a/b"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("[::1]:11434", "http://[::1]:11434"),
        ("HTTP://Host", "http://host:80"),
    ],
)
def test_base_url_reads_like_ollama(given_url: str | None, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert base_url(given_url) == expected


def test_base_url_defaults_from_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "https://gpu.example/ollama")
    assert base_url() == "https://gpu.example:443/ollama"


@pytest.mark.parametrize("bad", ["ftp://x", "http://x:notaport", "http://user:pw@x"])
def test_bad_urls_are_refused(bad: str) -> None:
    with pytest.raises(InvalidURL) as raised:
        base_url(bad)
    assert "pw" not in str(raised.value)


def _spelled(character: str, how: int) -> str:
    """One character of a token as a client may write it: itself, percent-encoded, or a JSON escape."""
    if how == 1:
        return "".join(f"%{byte:02X}" for byte in character.encode())
    if how == 2:
        units = character.encode("utf-16-be")
        return "".join(f"\\u{int.from_bytes(units[at : at + 2], 'big'):04x}" for at in range(0, len(units), 2))
    return character


TOKENS = st.text(
    st.characters(min_codepoint=33, exclude_characters="<>", exclude_categories=("Cs",)), min_size=4, max_size=24
)


@settings(max_examples=200)
@given(token=TOKENS, data=st.data())
def test_a_token_is_masked_however_it_is_spelled_and_where_a_cut_ends_in_it(token: str, data: st.DataObject) -> None:
    hows = data.draw(st.lists(st.integers(0, 2), min_size=len(token), max_size=len(token)), label="spellings")
    spelled = "".join(_spelled(character, how) for character, how in zip(token, hows, strict=True))
    assert mask_secret(f"<{spelled}>", token) == "<***>"
    kept = data.draw(st.integers(1, len(spelled) - 1), label="characters kept before the cut")
    assert mask_secret(f"<{spelled[:kept]}", token, cut=True) == "<***"
