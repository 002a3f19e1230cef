"""Request headers from user input (mapping, JSON, .json file, quoted pseudo-JSON), and masking of secrets."""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: A header or query parameter whose name holds one of these carries a credential (`X-Auth`, `api_key`, `sig`).
_SECRET_WORDS = ("auth", "cookie", "token", "secret", "key", "pass", "session", "sig", "credential", "jwt")
_CURL_HEADER = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*\S")
_QUERY_PARAMETER = re.compile(r"([?&;])([^=&;#]*)=([^&;#]*)")
_AUTH_SCHEME = re.compile(r"^(Bearer|Basic|Digest|Token|Bot|ApiKey)\s+", re.IGNORECASE)
MASK = "***"


class InvalidHeaders(ValueError):
    """Header input (mapping, JSON text, file or quoted pseudo-JSON) is not usable."""

    exit_code = 2


def is_secret_header(name: str) -> bool:
    """True for headers whose values must never be shown (Authorization, cookies, API keys, tokens)."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def mask_value(value: str) -> str:
    """Hide a secret value, keeping only a leading auth scheme (`Bearer ***`)."""
    scheme = _AUTH_SCHEME.match(value)
    return f"{scheme.group(1)} {MASK}" if scheme else MASK


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with every secret value masked."""
    return {name: mask_value(value) if is_secret_header(name) else value for name, value in headers.items()}


def mask_query(target: str) -> str:
    """A URL or request target with the values of credential-like query parameters masked (`?token=***`)."""
    if "?" not in target:
        return target
    path, _, query = target.partition("?")

    def masked(match: re.Match[str]) -> str:
        separator, name, value = match.groups()
        return f"{separator}{name}={MASK if value and is_secret_header(unquote_plus(name)) else value}"

    return path + _QUERY_PARAMETER.sub(masked, "?" + query)


def mask_secret(text: str, secret: str | None, *, cut: bool = False) -> str:
    """`text` with every occurrence of `secret` (a configured token) masked, however it is spelled: each
    character as itself, percent-encoded (either case) or as a JSON escape. When `text` was `cut` short,
    a beginning of the secret at its very end is masked too."""
    if not secret:
        return text
    # The cut first, then spelled ways, then the plain secret: a secret may end where an escape of its
    # last character begins (`\\u005c`), which would otherwise be matched short and left half shown.
    if cut:
        text = _masked_at_the_cut(text, secret)
    if any(marker in text for marker in ("%", "\\", "+")):
        text = _masked_spellings(text, secret)
    return text.replace(secret, MASK)


def _masked_spellings(text: str, secret: str) -> str:
    """`text` with each spelling of `secret` masked, each as long as it can be read (`\\\\u0075` is a
    backslash and an escaped `u`, not the short escape of a backslash and a `u`)."""
    pattern, kept, position = _secret_pattern(secret), [], 0
    while (found := pattern.search(text, position)) is not None:
        end = _longest_spelling_end(text, found.start(), secret)
        kept += [text[position : found.start()], MASK]
        position = max(end, found.end())
    return "".join(kept) + text[position:]


def _longest_spelling_end(text: str, start: int, secret: str) -> int:
    """Where the longest spelling of `secret` that begins at `start` ends (one is known to)."""
    longest, pending = start, [(start, 0)]
    while pending:
        at, index = pending.pop()
        if index == len(secret):
            longest = max(longest, at)
            continue
        for spelled, any_case in _spellings(secret[index]):
            piece = text[at : at + len(spelled)]
            if (piece.lower() == spelled.lower()) if any_case else piece == spelled:
                pending.append((at + len(spelled), index + 1))
    return longest


#: Characters one character's spelling takes at most (`\\ud83d\\ude00`, `%f0%9f%98%80`).
_LONGEST_SPELLING = 12


def _masked_at_the_cut(text: str, secret: str) -> str:
    """`text` with the longest tail that begins some spelling of `secret` masked."""
    for start in range(max(0, len(text) - _LONGEST_SPELLING * len(secret)), len(text)):
        if _begins_spelling(text[start:], secret):
            return text[:start] + MASK
    return text


#: One way a character may be written: the text, and whether its letters may be of either case (hex digits).
_Spelling = tuple[str, bool]


@functools.lru_cache(maxsize=256)
def _spellings(character: str) -> tuple[_Spelling, ...]:
    """The ways one character of a secret may be written: itself, percent-encoded, or as a JSON escape."""
    units = character.encode("utf-16-be")
    json_escape = "".join(f"\\u{int.from_bytes(units[at : at + 2], 'big'):04x}" for at in range(0, len(units), 2))
    spellings: list[_Spelling] = [(character, False), ("".join(f"%{byte:02x}" for byte in character.encode()), True)]
    spellings.append((json_escape, True))
    if character in '"\\/':
        spellings.append(("\\" + character, False))  # JSON's short escapes
    if character == " ":
        spellings.append(("+", False))  # a form-encoded space
    return tuple(spellings)


def _spelling_pattern(spelling: _Spelling) -> str:
    text, any_case = spelling
    return f"(?i:{re.escape(text)})" if any_case else re.escape(text)


@functools.lru_cache(maxsize=8)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """`secret` spelled any way, character by character."""
    return re.compile("".join(f"(?:{'|'.join(map(_spelling_pattern, _spellings(char)))})" for char in secret))


def _begins_spelling(tail: str, secret: str) -> bool:
    """True when `tail` is how some spelling of `secret` begins (it may end inside one character's spelling)."""
    pending = [(0, 0)]  # (where in tail, which character of secret)
    while pending:
        at, index = pending.pop()
        if index == len(secret):
            continue
        for text, any_case in _spellings(secret[index]):
            piece = tail[at : at + len(text)]
            if text.lower().startswith(piece.lower()) if any_case else text.startswith(piece):
                if at + len(text) >= len(tail):
                    return True
                pending.append((at + len(text), index + 1))
    return False


#: A bare token shorter than this is not masked on its own (it would mask ordinary words).
_SHORTEST_MASKED_TOKEN = 4


def mask_text(text: str, headers: Mapping[str, str]) -> str:
    """`text` with every secret header value of `headers` masked, and its bare token too (`Bearer X`: `X`)."""
    for name, value in headers.items():
        if is_secret_header(name) and value:
            text = text.replace(value, mask_value(value))
            token = _AUTH_SCHEME.sub("", value).strip()
            if token != value and len(token) >= _SHORTEST_MASKED_TOKEN:
                text = text.replace(token, MASK)
    return text


def _from_mapping(data: Mapping[Any, Any], origin: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise InvalidHeaders(f"{origin}: {name!r} is not a valid header name")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidHeaders(f"{origin}: the value of {name!r} must be text, not {type(value).__name__}")
        text = str(value)
        if "\r" in text or "\n" in text:
            raise InvalidHeaders(f"{origin}: the value of {name!r} contains a line break")
        headers[name] = text
    return headers


def _decode_object(text: str, origin: str) -> Mapping[Any, Any]:
    try:
        decoded = json.loads(text)
    except json.JSONDecodeError as json_error:
        try:
            # Integration-library docs show `{'Authorization':'Bearer x'}`: a Python-style literal.
            decoded = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise InvalidHeaders(
                f"{origin}: not a JSON object ({json_error.msg} at line {json_error.lineno} column {json_error.colno})"
            ) from None
    if not isinstance(decoded, Mapping):
        raise InvalidHeaders(
            f"{origin}: expected a JSON object of header names to values, got {type(decoded).__name__}"
        )
    return decoded


def parse_headers(source: Mapping[str, Any] | str | None, origin: str = "headers") -> dict[str, str]:
    """Turn header input into a dict: a mapping, JSON object text, quoted pseudo-JSON, or a .json file path."""
    if source is None:
        return {}
    if isinstance(source, Mapping):
        return _from_mapping(source, origin)
    text = source.strip()
    if not text:
        return {}
    if text[0] in "{['\"":
        quoted = text[0] in "'\""
        return _from_mapping(_decode_object(text.strip("'\"") if quoted else text, origin), origin)
    path = Path(text).expanduser()
    if not path.is_file() and _CURL_HEADER.match(text):
        name, _, value = text.partition(":")  # curl's form: `Authorization: Bearer x`
        return _from_mapping({name: value.strip()}, origin)
    if not path.is_file():
        shown = "" if is_probably_secret(text) else f": {text[:80]!r}"
        raise InvalidHeaders(f"{origin}: neither a JSON object nor an existing file{shown}")
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidHeaders(f"{origin}: cannot read {path}: {error}") from None
    return _from_mapping(_decode_object(content, f"{origin} file {path}"), f"{origin} file {path}")


def is_probably_secret(text: str) -> bool:
    """True when free text looks like it carries a credential (so it must not be echoed)."""
    return bool(_AUTH_SCHEME.search(text)) or any(word in text.lower() for word in _SECRET_WORDS)
