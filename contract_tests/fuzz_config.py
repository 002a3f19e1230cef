"""How Schemathesis should judge Ollama: the configuration the suite uses and `schemathesis.toml` ships.

Ollama refuses with 400 some schema-valid requests a schema cannot rule out (a name that is not
installed in the form asked, a capability the model lacks, `think` for a model that cannot think),
and answers 5xx where the real server does: 500 for a `format` it cannot use (after loading the
model) and for a failed pull, push or create without streaming, 501 when a model that cannot embed
is asked to, 500 for media the model cannot take (a transcription's audio), and, offline, 503 from
`/api/me` and 500 from `/api/signout` (they ask ollama.com). A test keeps `schemathesis.toml` at the
repository's root equal to this.
"""

from __future__ import annotations

import re
from typing import Any

#: Ollama answers OPTIONS 204 to a local Host (its Host check), and TRACE never reaches it behind a proxy.
PHASES: dict[str, Any] = {"coverage": {"unexpected-methods": ["PUT", "POST", "PATCH", "DELETE"]}}
_SERVER_ERRORS = ["2xx", "3xx", "4xx"]


def _accepts(positive: list[str], server_errors: list[str] | None = None) -> dict[str, Any]:
    checks: dict[str, Any] = {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "404", *positive]}}
    if server_errors:
        checks["not_a_server_error"] = {"expected-statuses": [*_SERVER_ERRORS, *server_errors]}
    return checks


#: Path pattern to the statuses its operations may answer beyond Schemathesis's defaults.
ACCEPTED: dict[str, dict[str, Any]] = {
    "^/api/(show|copy|delete|blobs/.*)$": _accepts([]),
    "^/api/(generate|chat|embeddings|pull|push|create)$": _accepts(["500"], ["500"]),
    "^/v1/(chat/completions|completions|responses|messages|audio/transcriptions)$": _accepts(["500"], ["500"]),
    "^/api/(me|signout|user/keys/.*)$": _accepts(["500", "503"], ["500", "503"]),
    "^(/api/embed|/v1/embeddings)$": _accepts(["501"], ["501"]),
}

SCHEMATHESIS_CONFIG: dict[str, Any] = {
    "phases": PHASES,
    "operations": [{"include-path-regex": pattern, "checks": checks} for pattern, checks in ACCEPTED.items()],
}


def checks_for(path: str) -> dict[str, Any]:
    """The check settings of one path, for a schema whose operations share them.

    Per-operation settings cannot be used with the Python API's filters: an `[[operations]]` entry
    re-selects the operations it matches whatever `include()` said.
    """
    return next((checks for pattern, checks in ACCEPTED.items() if re.match(pattern, path)), {})
