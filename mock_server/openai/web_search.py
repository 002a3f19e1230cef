"""The built-in web search tools of `/v1/responses` and `/v1/messages`, on a server with its cloud off.

The model sees each as a function named `web_search`. When it calls it, Ollama searches through
ollama.com, which a server with its cloud off cannot: a Responses request then fails (403, or
`response.failed` in a stream, `WebSearchResponsesWriter`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .responses_events import ResponseEvents

#: The Responses API's built-in `web_search`, as Ollama hands it to the model (`WebSearchFunctionTool`).
RESPONSES_WEB_SEARCH = {
    "type": "function",
    "function": {
        "name": "web_search",
        "description": "Search the web for current information.",
        "parameters": {
            "type": "object",
            "required": ["query"],
            "properties": {"query": {"type": "string", "description": "The search query."}},
        },
    },
}
#: Anthropic's built-in `web_search_…` tool, as Ollama hands it to the model (`convertTool`).
MESSAGES_WEB_SEARCH = {
    "type": "function",
    "function": {
        "name": "web_search",
        "description": "Search the web for current information. Use this to find up-to-date information about any "
        "topic.",
        "parameters": {
            "type": "object",
            "required": ["query"],
            "properties": {"query": {"type": "string", "description": "The search query to look up on the web"}},
        },
    },
}


def search_error(query: str) -> tuple[int, str]:
    """Why the server's own web search fails, cloud off (`WebSearchResponsesWriter.writeWebSearchError`)."""
    if not query.strip():
        return 502, "web_search requires a non-empty string query"
    return 403, "ollama cloud is disabled: web search is unavailable"


def search_call(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """The model's first call of `web_search` in a chat chunk, if any."""
    calls = (chunk.get("message") or {}).get("tool_calls") or []
    return next((call for call in calls if call["function"]["name"] == "web_search"), None)


def search_query(call: dict[str, Any]) -> str:
    """The query of a `web_search` call ("" when it has none)."""
    query = call["function"]["arguments"].get("query")
    return query if isinstance(query, str) else ""


def searching_frames(converter: ResponseEvents, chunks: Iterator[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    """The stream of a request with the built-in web search: as usual until the model calls it."""
    call: dict[str, Any] | None = None
    for chunk in chunks:
        call = call or search_call(chunk)
        if call is None:
            yield from converter.process(chunk)
        elif chunk.get("done"):
            yield from converter.search_failed(search_query(call), chunk, search_error(search_query(call)))
