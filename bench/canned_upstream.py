"""A canned upstream for the proxies' streamed-generate figure: it replays one answer the mock gave, so the
proxy in front of it, not the upstream, is the limit (the mock generates at 650 to 1,500 answers a second on
a 2-core machine, about what Prism's proxy passes). Served by granian: `CANNED=answers.json granian
--interface wsgi bench.canned_upstream:app`. `/api/ps` lists the model as used now (expiring in five
minutes), as the real server would after the generate.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

_ANSWERS = json.loads(Path(os.environ.get("CANNED", "canned.json")).read_text(encoding="utf-8"))
_LINES = [line.encode() for line in _ANSWERS["generate"]]
_VERSION = json.dumps({"version": _ANSWERS["version"]}).encode()
_JSON = [("Content-Type", "application/json; charset=utf-8")]


def _ps() -> bytes:
    expires = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    models = [model | {"expires_at": expires} for model in _ANSWERS["ps"]["models"]]
    return json.dumps({"models": models}).encode()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """`/api/version`, `/api/ps`, and the generate answer for anything else (each line its own chunk)."""
    path = environ.get("PATH_INFO", "")
    if path == "/api/version":
        start_response("200 OK", _JSON)
        return [_VERSION]
    if path == "/api/ps":
        start_response("200 OK", _JSON)
        return [_ps()]
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/x-ndjson")])
    return iter(_LINES)
