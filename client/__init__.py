"""A small, strict client for Ollama's `GET /api/ps`, and the `ollama ps` table.

Names load on first use, so `ollama_contract_kit.commandline.headers` (used by the mock) does not pay
for the HTTP library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ollama_contract_kit.commandline.headers import InvalidHeaders, mask_headers, parse_headers

    from .api import OllamaClient
    from .errors import ContractError, HTTPStatusError, OllamaClientError, ServerUnreachable
    from .hosts import InvalidURL, base_url
    from .models import ModelDetails, RunningModel, parse_ps_body
    from .table import render_table

_WHERE = {
    "ContractError": "errors",
    "HTTPStatusError": "errors",
    "InvalidHeaders": "ollama_contract_kit.commandline.headers",
    "InvalidURL": "hosts",
    "ModelDetails": "models",
    "OllamaClient": "api",
    "OllamaClientError": "errors",
    "RunningModel": "models",
    "ServerUnreachable": "errors",
    "base_url": "hosts",
    "mask_headers": "ollama_contract_kit.commandline.headers",
    "parse_headers": "ollama_contract_kit.commandline.headers",
    "parse_ps_body": "models",
    "render_table": "table",
}
__all__ = [
    "ContractError",
    "HTTPStatusError",
    "InvalidHeaders",
    "InvalidURL",
    "ModelDetails",
    "OllamaClient",
    "OllamaClientError",
    "RunningModel",
    "ServerUnreachable",
    "base_url",
    "mask_headers",
    "parse_headers",
    "parse_ps_body",
    "render_table",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    where = _WHERE[name]
    return getattr(importlib.import_module(where if where.startswith("ollama_") else f".{where}", __name__), name)
