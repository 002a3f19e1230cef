"""What makes two requests "the same request": the key a recorded reply is matched on.

One function, used by the recorder (`ollama-contract proxy --record`) and by the mock's routes alike,
so a replay matches exactly the requests the recording saw.
"""

from __future__ import annotations

import hashlib
import json

#: Body fields that change how an answer is delivered or how long the model stays, not what it says.
DELIVERY_FIELDS = frozenset({"stream", "stream_options", "keep_alive"})


def request_fingerprint(path: str, body: bytes) -> str:
    """A digest (32 hex digits) of the request's path and its JSON body without `stream`, `stream_options`
    and `keep_alive`, in canonical form (keys sorted, no spaces): the same request streamed or not, kept
    loaded longer or not, has the same fingerprint. A body that is no JSON is digested as its bytes."""
    try:
        value = json.loads(body.decode("utf-8", "replace")) if body.strip() else None  # Go reads bad UTF-8 as U+FFFD
        if isinstance(value, dict):
            value = {key: item for key, item in value.items() if key not in DELIVERY_FIELDS}
        content = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        content = body
    return hashlib.sha256(path.encode() + b"\n" + content).hexdigest()[:32]
