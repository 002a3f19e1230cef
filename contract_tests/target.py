"""What the contract checks talk to: the mock in-process, or a server at a URL (mock or live)."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict
from schemathesis.specs.openapi.checks import unsupported_method

from ollama_contract_kit.client.api import transport_failure_reason
from ollama_contract_kit.commandline.headers import mask_text
from ollama_contract_kit.openapi.releases import Version, has, parse_version

from .checks import check_ps_rules, ollama_ps_rules
from .defaults import LIVE_REQUESTS_PER_SECOND, TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS, VERIFY_MAX_EXAMPLES


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, whichever way it was fetched."""

    method: str
    url: str
    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON (raises ValueError when it is not)."""
        return json.loads(self.body)

    def json_or_none(self) -> Any:
        """The body decoded as JSON, or None when it is not JSON."""
        try:
            return self.json()
        except ValueError:
            return None

    def excerpt(self, limit: int = 300) -> str:
        """The start of the body as text, for evidence."""
        text = self.body[:limit].decode("utf-8", errors="replace")
        return text + ("…" if len(self.body) > limit else "")


@dataclass
class ContractTarget:
    """A server under test. `live` targets are never asked to generate text; `read_only` ones are not changed."""

    description: str
    base_url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    app: Any = None
    live: bool = False
    read_only: bool = False
    timeout: float = TIMEOUT_SECONDS
    grace_seconds: float = UNLOAD_GRACE_SECONDS
    max_rate: float = LIVE_REQUESTS_PER_SECOND
    #: Hypothesis examples per operation in the Schemathesis checks.
    max_examples: int = VERIFY_MAX_EXAMPLES
    _session: requests.Session = field(default_factory=requests.Session, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _last_request: float = 0.0

    def _pace(self) -> None:
        if not self.live:
            return
        with self._lock:
            wait = self._last_request + 1 / self.max_rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last_request = time.monotonic()

    @functools.cached_property
    def version(self) -> Version | None:
        """The server's version from `/api/version` (`(0, 12, 3)`), `DEVELOPMENT_BUILD` for `0.0.0`, or None."""
        data = self.request("GET", "/api/version").json_or_none()
        return parse_version(str(data.get("version", ""))) if isinstance(data, dict) else None

    def has(self, change: str) -> bool:
        """True when the server's release has `change` (`releases.CHANGES`), or it does not say (newest rules)."""
        return has(self.version, change)

    @property
    def routes_wrong_methods_to_404(self) -> bool:
        """True for servers before Ollama 0.7, whose router answered 404 where newer ones answer 405."""
        return not self.has("method_not_allowed")

    def call_and_validate(self, case: Any) -> Any:
        """Send a Schemathesis case and run every check (built-in and the kit's) on the answer."""
        self._pace()
        # The kit's /api/ps rules depend on the server's version: they run below, with it.
        excluded = [unsupported_method, ollama_ps_rules] if self.routes_wrong_methods_to_404 else [ollama_ps_rules]
        if self.app is not None:
            response = case.call_and_validate(app=self.app, headers=self.headers or None, excluded_checks=excluded)
        else:
            response = case.call_and_validate(
                base_url=self.base_url,
                session=self._session,
                headers=self.headers or None,
                timeout=self.timeout,
                excluded_checks=excluded,
            )
        check_ps_rules(response, case, version=self.version)
        return response

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Answer:
        """Send one plain request (no redirects followed); a transport failure fails the check with its reason."""
        self._pace()
        merged = {**self.headers, **(headers or {})}
        if self.app is not None:
            with self.app.test_client() as client:
                response = client.open(path, method=method, json=json_body, headers=merged)
                return Answer(
                    method, path, response.status_code, CaseInsensitiveDict(dict(response.headers)), response.get_data()
                )
        url = self.base_url + path
        wait = timeout or self.timeout
        try:
            reply = self._session.request(
                method, url, json=json_body, headers=merged, timeout=wait, allow_redirects=False
            )
        except requests.RequestException as error:
            raise AssertionError(f"{method} {url}: {self.mask(transport_failure_reason(error, wait))}") from None
        return Answer(method, url, reply.status_code, CaseInsensitiveDict(dict(reply.headers)), reply.content)

    def mask(self, text: str) -> str:
        """`text` with the target's secret header values masked."""
        return mask_text(text, self.headers)
