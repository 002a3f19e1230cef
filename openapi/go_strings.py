"""Go's strings: text Go reads from JSON holds no lone surrogate (an escaped `\\ud800` reads as U+FFFD)."""

from __future__ import annotations

import re
from typing import Any

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _replaced(text: str) -> str:
    return _LONE_SURROGATE.sub("\ufffd", text)


def without_lone_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate in its strings and keys replaced by U+FFFD, as Go's decoder does.

    Python joins a valid `\\uD83D\\uDE00` pair into one character, so any surrogate left is a lone one;
    it could never be encoded as UTF-8 again. Containers are changed in place, without recursion.
    """
    if isinstance(value, str):
        return _replaced(value)
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = _replaced(item)
                elif isinstance(item, (list, dict)):
                    pending.append(item)
        elif isinstance(node, dict):
            entries = list(node.items())
            node.clear()
            for key, item in entries:
                if isinstance(item, str):
                    item = _replaced(item)
                elif isinstance(item, (list, dict)):
                    pending.append(item)
                node[_replaced(key)] = item
    return value
