"""`OllamaClient`: a small, strict client for `GET /api/ps` and the calls the kit's tools need."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import requests

from ollama_contract_kit.commandline.headers import mask_text, parse_headers
from ollama_contract_kit.openapi import validator_for

from .errors import ContractError, HTTPStatusError, ServerUnreachable
from .hosts import base_url
from .models import RunningModel, parse_ps_body

DEFAULT_TIMEOUT = 10.0


def transport_failure_reason(error: requests.RequestException, timeout: float) -> str:
    """A short, human reason for a transport failure (refused, timed out, dropped, ...)."""
    text = str(error)
    if isinstance(error, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(error, requests.exceptions.ChunkedEncodingError) or "IncompleteRead" in text:
        return "the connection closed before the whole body arrived"
    if (
        "RemoteDisconnected" in text
        or "without response" in text
        or isinstance(error.__context__, http.client.RemoteDisconnected)
    ):
        return "the server closed the connection without answering"
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused (is the server running?)"
    if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "the host name does not resolve"
    if isinstance(error, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "TLS certificate not trusted (for a private CA, set REQUESTS_CA_BUNDLE to its PEM bundle)"
        if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
            return "TLS handshake failed: the server does not speak TLS here (try http://)"
        return "TLS handshake failed"
    if "Connection reset" in text:
        return "the connection was reset"
    return text.split(":")[-1].strip().rstrip(")'\"") or type(error).__name__


class OllamaClient:
    """A client for one Ollama server (or a proxy in front of one).

    `url` may carry a path prefix (`https://host/ollama`); None reads `OLLAMA_HOST`. `headers` is a
    mapping, JSON text, a .json file path or quoted pseudo-JSON. Retries (with exponential
    backoff) apply to connection errors and 5xx answers, and are off by default.
    """

    def __init__(
        self,
        url: str | None = None,
        headers: Mapping[str, Any] | str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 0,
        backoff: float = 0.5,
    ) -> None:
        self.url = base_url(url)
        self.headers = parse_headers(headers)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self._session = requests.Session()
        self._session.headers.update({"Accept": "application/json", "User-Agent": "ollama-contract-kit"})
        self._session.headers.update(self.headers)

    def __repr__(self) -> str:
        return f"OllamaClient(url={self.url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> OllamaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        """Send one request (with retries); raise ServerUnreachable or HTTPStatusError on failure."""
        url = self.url + path
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            last = attempt == self.retries
            try:
                response = self._session.request(method, url, json=body, timeout=self.timeout, allow_redirects=True)
                response.content  # noqa: B018 - read the body now, so a cut body is a transport error
            except requests.RequestException as error:
                if last:
                    reason = transport_failure_reason(error, self.timeout)
                    raise ServerUnreachable(url, mask_text(reason, self.headers)) from None
                continue
            if response.status_code >= 500 and not last:
                continue
            if not 200 <= response.status_code < 300:
                raise HTTPStatusError(url, response.status_code, _error_text(response))
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def get_json(self, path: str, schema: str | None = None) -> Any:
        """GET `path` and decode its JSON; with `schema`, validate it against the contract."""
        response = self.request("GET", path)
        return self._decode(response, schema)

    def post_json(self, path: str, body: Any, schema: str | None = None) -> Any:
        """POST a JSON body to `path` and decode the JSON answer."""
        return self._decode(self.request("POST", path, body), schema)

    def _decode(self, response: requests.Response, schema: str | None) -> Any:
        url = response.url or self.url
        try:
            data = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            html = _html_title(response)
            if html is not None:
                raise ContractError(url, [f"$: the body is {html}, not Ollama's JSON: is the URL right?"]) from None
            excerpt = response.content[:60].decode("utf-8", errors="replace")
            raise ContractError(url, [f"$: the body is not JSON ({error}): {excerpt!r}"]) from None
        if schema is not None:
            problems = validator_for("ollama", schema).problems(data)
            if problems:
                raise ContractError(url, [str(problem) for problem in problems])
        return data

    # -- the API -----------------------------------------------------------------------------------

    def ps(self) -> dict[str, Any]:
        """The `/api/ps` body as JSON, validated against the contract."""
        return self.ps_body()[1]

    def ps_body(self) -> tuple[bytes, dict[str, Any]]:
        """The `/api/ps` body as received and as JSON, validated against the contract."""
        response = self.request("GET", "/api/ps")
        data: dict[str, Any] = self._decode(response, "PsResponse")
        return response.content, data

    def running_models(self) -> tuple[RunningModel, ...]:
        """The running models as typed, immutable objects, in the server's order."""
        return parse_ps_body(self.get_json("/api/ps"), self.url + "/api/ps")

    def installed_models(self) -> list[dict[str, Any]]:
        """The `/api/tags` models as JSON, validated against the contract."""
        data: dict[str, Any] = self.get_json("/api/tags", "TagsResponse")
        return list(data["models"])

    def version(self) -> str:
        """The server's version text."""
        data: dict[str, Any] = self.get_json("/api/version", "VersionResponse")
        return str(data["version"])

    def load(self, model: str, keep_alive: float | str | None = None) -> dict[str, Any]:
        """Load a model without generating anything (`POST /api/generate` with no prompt)."""
        body: dict[str, Any] = {"model": model, "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        data: dict[str, Any] = self.post_json("/api/generate", body, "GenerateResponse")
        return data

    def unload(self, model: str) -> dict[str, Any]:
        """Unload a model now (`keep_alive: 0`, no prompt)."""
        return self.load(model, keep_alive=0)


#: How much of a body that is not Ollama's an error message quotes.
_EXCERPT_CHARACTERS = 200


def _html_title(response: requests.Response) -> str | None:
    """'an HTML page ("<title>")' when the body is a web page (a proxy's or another server's), else None."""
    head = response.content[:4096].decode("utf-8", errors="replace")
    content_type = response.headers.get("Content-Type", "").lower()
    if "html" not in content_type and not re.match(r"\s*<(!doctype|html|head|body|\?xml)", head, re.IGNORECASE):
        return None
    title = re.search(r"<title[^>]*>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
    return f'an HTML page ("{" ".join(title.group(1).split())[:80]}")' if title else "an HTML page"


def _error_text(response: requests.Response) -> str:
    """Ollama's `error` text, or (cut short) what answered instead."""
    html = _html_title(response)
    if html is not None:
        return f"{html}, not Ollama: is the URL (and its path prefix) right?"
    text = response.content.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        excerpt = text[:_EXCERPT_CHARACTERS] + ("…" if len(text) > _EXCERPT_CHARACTERS else "")
        return excerpt or response.reason or "no body"
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return text[:_EXCERPT_CHARACTERS] + ("…" if len(text) > _EXCERPT_CHARACTERS else "")
