"""How Ollama's wire format changed from release to release: the one table the mock, `verify` and
the proxy read, so the three cannot disagree about what a given release sends.

Each change names the first release that has it and the commit in ollama/ollama that made it; a
server older than that behaves as described in `before`.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

Version = tuple[int, ...]


@dataclass(frozen=True)
class Change:
    """One change of the wire format: from `since` on, `after`; before it, `before`."""

    since: Version
    after: str
    before: str
    source: str


#: Every change of what `/api/ps`, routing and the lifecycle answers look like, oldest first.
CHANGES: dict[str, Change] = {
    "ps": Change(
        (0, 1, 38),
        "GET /api/ps lists the running models",
        "no /api/ps: 404",
        "684598880",
    ),
    "ps_struct": Change(
        (0, 1, 42),
        "/api/ps sends size_vram on every model (0 on CPU) and no modified_at",
        'ps entries carry modified_at "0001-01-01T00:00:00Z" and omit size_vram when it is 0',
        "4bf1da494",
    ),
    "ps_sorted": Change(
        (0, 1, 49),
        "/api/ps lists the latest expiry first",
        "/api/ps keeps no order",
        "642cee134",
    ),
    "openai_models": Change(
        (0, 1, 49),
        "the /v1 layer has /v1/models, /v1/models/{model} and /v1/completions (beside /v1/chat/completions)",
        "only /v1/chat/completions: the others 404",
        "996bb1b85, d626b99b5",
    ),
    "concurrent_models": Change(
        (0, 1, 49),
        "3 models a GPU (3 on a CPU) stay loaded at once, each answering up to 4 requests at once",
        "one model at a time (loading another unloads it), answering one request at a time",
        "17b7186cd, 9929751cc",
    ),
    "embed": Change(
        (0, 2, 6),
        "POST /api/embed (batches) and /v1/embeddings",
        "only /api/embeddings: the others 404",
        "b9f5e16c8, 987dbab0b",
    ),
    # Every release the kit speaks for says done_reason "load" on a load (empty prompt or no
    # messages): 0.1.35 added it (cfa84b847), before /api/ps existed.
    "unload_reason": Change(
        (0, 3, 11),
        'a keep_alive 0 request without a prompt unloads at once and answers done_reason "unload"',
        'it loads the model with keep-alive 0, answers done_reason "load" like any load, and the model expires',
        "abed273de",
    ),
    "show_capabilities": Change(
        (0, 6, 4),
        "/api/show says the model's capabilities",
        "no capabilities in /api/show",
        "e172f095b",
    ),
    "context_4096": Change(
        (0, 6, 7),
        "a runner's default context is 4096",
        "a runner's default context is 2048",
        "44b466eeb",
    ),
    "method_not_allowed": Change(
        (0, 7, 0),
        "a wrong method gets 405 with Allow",
        "a wrong method gets 404 page not found",
        "4090aca97",
    ),
    "thinking": Change(
        (0, 9, 0),
        "generate and chat think (think, thinking, message.thinking)",
        "think is ignored and nothing thinks",
        "5f57b0ef4",
    ),
    "ps_context_length": Change(
        (0, 9, 7),
        "/api/ps sends context_length",
        "no context_length in /api/ps",
        "34088dbcf",
    ),
    "one_request_a_runner": Change(
        (0, 9, 7),
        "OLLAMA_NUM_PARALLEL defaults to 1: a runner answers one request at a time",
        "a runner answers up to 4 requests at once",
        "20c3266e9",
    ),
    "account": Change(
        (0, 12, 0),
        "POST /api/me (who is signed in to ollama.com) and DELETE /api/user/keys/{key} (sign out)",
        "no /api/me and no /api/user/keys: 404",
        "8b894933a",
    ),
    "signout": Change(
        (0, 12, 1),
        "POST /api/signout (DELETE /api/user/keys/{key} stays, deprecated)",
        "no /api/signout: 404",
        "64883e3c4",
    ),
    "chat_done_reason_last": Change(
        (0, 12, 0),
        "a chat answer sends done_reason after done",
        "a chat answer sends done_reason before done (the field order of its ChatResponse)",
        "8b894933a",
    ),
    "tool_call_ids": Change(
        (0, 12, 10),
        "tool calls carry an id",
        "tool calls carry no id",
        "809b9c68f",
    ),
    "responses": Change(
        (0, 13, 3),
        "POST /v1/responses: OpenAI's Responses API, stateless (no previous_response_id)",
        "no /v1/responses: 404",
        "1eb5e7597",
    ),
    "messages": Change(
        (0, 14, 0),
        "POST /v1/messages: Anthropic's Messages API (no /v1/messages/count_tokens)",
        "no /v1/messages: 404",
        "2b2cda7a2",
    ),
    "context_by_vram": Change(
        (0, 15, 5),
        "the default context follows the total VRAM: 4096, 32768 from 23 GiB, 262144 from 47 GiB",
        "the default context is the same on every machine",
        "0334ffa62",
    ),
    "status": Change(
        (0, 16, 2),
        "GET /api/status says the cloud status",
        "no /api/status: 404",
        "948de6bbd",
    ),
    "web_tools": Change(
        (0, 18, 0),
        "POST /api/experimental/web_search and web_fetch, through ollama.com (0.17.8's release candidates had them)",
        "no /api/experimental/web_search or web_fetch: 404",
        "61086083e",
    ),
    "transcriptions": Change(
        (0, 20, 0),
        "POST /v1/audio/transcriptions: a multipart audio file, transcribed by a model that can hear",
        "no /v1/audio/transcriptions: 404",
        "96b202d34",
    ),
    "model_recommendations": Change(
        (0, 22, 1),
        "GET /api/experimental/model-recommendations: the models Ollama suggests",
        "no /api/experimental/model-recommendations: 404",
        "321cc8a2b",
    ),
    "clean_path_307": Change(
        (0, 23, 1),
        "an unclean path (//api/ps, /api/./ps) redirects with 307, any method (built with Go 1.26's ServeMux)",
        "an unclean path redirects with 301 (Go 1.25 and older)",
        "4017af96c",
    ),
    "tags_capabilities": Change(
        (0, 30, 0),
        "/api/tags says each model's capabilities (0.9.1 added it and took it back the same day)",
        "no capabilities in /api/tags",
        "4b2d52996",
    ),
    "openai_role_once": Change(
        (0, 32, 6),
        "/v1/chat/completions streams name the role in the first chunk only, each chunk stamped with its own time",
        'every streamed /v1/chat/completions chunk says "role": "assistant"',
        "8edecb5c6",
    ),
}
#: Routes added after /api/ps existed (a path, and everything below it), and the change that added each.
ROUTE_CHANGES: dict[str, str] = {
    "/v1/models": "openai_models",
    "/v1/completions": "openai_models",
    "/api/embed": "embed",
    "/v1/embeddings": "embed",
    "/api/status": "status",
    "/api/me": "account",
    "/api/user/keys": "account",
    "/api/signout": "signout",
    "/v1/responses": "responses",
    "/v1/messages": "messages",
    "/api/experimental/web_search": "web_tools",
    "/api/experimental/web_fetch": "web_tools",
    "/v1/audio/transcriptions": "transcriptions",
    "/api/experimental/model-recommendations": "model_recommendations",
}
#: The oldest release the kit speaks for: the first with /api/ps.
OLDEST: Version = CHANGES["ps"].since
#: The newest release the facts describe: what the mock speaks unless told otherwise.
NEWEST = "0.33.0"
#: What development builds are taken for: they say `0.0.0` whatever their age, and get the newest rules.
DEVELOPMENT_BUILD: Version = (sys.maxsize,)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> Version | None:
    """`(0, 12, 3)` for `0.12.3` (a `v` prefix and a suffix like `-rc1` allowed); DEVELOPMENT_BUILD for
    `0.0.0`; None for text that is no version."""
    numbers = _VERSION.match(text.strip())
    if numbers is None:
        return None
    version = tuple(int(part) for part in numbers.groups())
    return DEVELOPMENT_BUILD if version == (0, 0, 0) else version


def has(version: Version | None, change: str) -> bool:
    """True when a server of `version` has `change`; an unknown version is held to the newest rules."""
    return version is None or version >= CHANGES[change].since


def route_change(path: str) -> str | None:
    """The change that added the route `path` belongs to (`/v1/models/x` to `openai_models`), if any."""
    for route, change in ROUTE_CHANGES.items():
        if path == route or path.startswith(route + "/"):
            return change
    return None


def profiles() -> list[str]:
    """The releases where something changed, and the newest, oldest first: one profile each."""
    releases = {".".join(map(str, change.since)): None for change in CHANGES.values()} | {NEWEST: None}
    return list(releases)
