"""A small, strict client for Ollama's `GET /api/ps`, and the `ollama ps` table."""

from __future__ import annotations

from .api import OllamaClient
from .errors import ContractError, HTTPStatusError, InvalidHeaders, OllamaClientError, ServerUnreachable
from .headers import mask_headers, parse_headers
from .hosts import InvalidURL, base_url
from .models import ModelDetails, RunningModel, parse_ps_body
from .table import render_table

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
