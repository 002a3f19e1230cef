"""A model's tokenizer arrays when a fixture does not hold them: derived from the vocabulary size, deterministic."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

#: The GGUF arrays a verbose `/api/show` sends in full, derived when not recorded.
ARRAY_KEYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores", "tokenizer.ggml.merges")
#: llama.cpp's token types.
_NORMAL, _UNKNOWN, _CONTROL, _BYTE = 1, 2, 3, 6
_BYTE_TOKENS = 256


def _special_ids(info: Mapping[str, Any]) -> dict[int, str]:
    ids = {}
    for key, default, text in (("unknown", 0, "<unk>"), ("bos", 1, "<s>"), ("eos", 2, "</s>")):
        value = info.get(f"tokenizer.ggml.{key}_token_id", default)
        if isinstance(value, int):
            ids[value] = text
    return ids


@lru_cache(maxsize=16)
def _vocabulary(size: int, specials: tuple[tuple[int, str], ...]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    named = dict(specials)
    tokens, types = [], []
    byte = 0
    for index in range(size):
        if index in named:
            tokens.append(named[index])
            types.append(_UNKNOWN if named[index] == "<unk>" else _CONTROL)
        elif byte < _BYTE_TOKENS:
            tokens.append(f"<0x{byte:02X}>")
            types.append(_BYTE)
            byte += 1
        else:
            tokens.append(f"tok{index}")
            types.append(_NORMAL)
    return tuple(tokens), tuple(types)


def derived_array(key: str, size: int, info: Mapping[str, Any]) -> list[Any]:
    """The array `key` of a vocabulary of `size` tokens: special tokens, the 256 byte tokens, then `tokN`."""
    tokens, types = _vocabulary(size, tuple(sorted(_special_ids(info).items())))
    if key == "tokenizer.ggml.tokens":
        return list(tokens)
    if key == "tokenizer.ggml.token_type":
        return list(types)
    if key == "tokenizer.ggml.scores":
        return [0 if kind != _NORMAL else -index for index, kind in enumerate(types)]
    return [f"{tokens[index]} {tokens[index + 1]}" for index in range(len(tokens) - 1) if types[index] == _NORMAL]
