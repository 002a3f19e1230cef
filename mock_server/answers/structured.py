"""Structured output: a deterministic value that satisfies a JSON Schema (for `format`, tool arguments and a
schema written in a prompt). Any JSON is taken as a schema: odd keywords are passed over, and the value
stays small whatever the schema asks (a prompt's schema is whatever its writer put there)."""

from __future__ import annotations

import math
from typing import Any

#: How deep nested schemas are followed; deeper parts get the simplest value of their type.
_MAX_DEPTH = 12
#: Values built for one schema at most (arrays stop short of `minItems` past it), and the characters its
#: strings are padded with in all (to meet `minLength`).
_MAX_VALUES, _MAX_PADDING = 1_000, 20_000
_KINDS = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "mock@example.com",
    "uri": "https://example.com/mock",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
}


def example_for(schema: Any, name: str = "value") -> Any:
    """A value valid against `schema`: enums and consts as given, every property filled, minimums met."""
    return _Example(schema if isinstance(schema, dict) else {}).value(schema, name, 0)


def _whole(value: Any, default: int) -> int:
    """`value` as a count when it is a whole number of a sane size, else `default`."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value else default


def _bound(value: Any) -> float | int | None:
    """`value` when it is a finite number a float can hold (a bound), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:  # an integer beyond any float
        return None


class _Example:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.left = _MAX_VALUES
        self.padding = _MAX_PADDING

    def _resolve(self, reference: str) -> Any:
        node: Any = self.root
        for part in reference.removeprefix("#/").split("/") if reference.startswith("#") else []:
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
        return node

    def value(self, schema: Any, name: str, depth: int) -> Any:
        self.left -= 1
        if self.left < 0 or not isinstance(schema, dict):  # past the budget: the simplest value
            return f"mock {name}"
        if "$ref" in schema and depth < _MAX_DEPTH:
            return self.value(self._resolve(str(schema["$ref"])), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for keyword in ("anyOf", "oneOf"):
            if isinstance(schema.get(keyword), list) and schema[keyword]:
                return self.value(schema[keyword][0], name, depth + 1)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged |= part if isinstance(part, dict) else {}
            return self.value({**merged, **{k: v for k, v in schema.items() if k != "allOf"}}, name, depth + 1)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((item for item in kind if item != "null"), "null")
        if not isinstance(kind, str) or kind not in _KINDS:
            return f"mock {name}"
        maker = getattr(self, f"_{kind}")
        return maker(schema, name, depth)

    def _object(self, schema: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if depth >= _MAX_DEPTH or not isinstance(properties, dict):
            return {}
        return {str(key): self.value(sub, str(key), depth + 1) for key, sub in properties.items()}

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        count = max(1, _whole(schema.get("minItems"), 1))
        maximum = schema.get("maxItems")
        if isinstance(maximum, int) and not isinstance(maximum, bool):
            count = min(count, maximum)
        if depth >= _MAX_DEPTH:
            return []
        return [self.value(schema.get("items", {}), name, depth + 1) for _ in range(min(count, max(self.left, 0)))]

    def _string(self, schema: dict[str, Any], name: str, depth: int) -> str:
        text = _FORMATS.get(str(schema.get("format", "")), f"mock {name}")
        minimum, maximum = _whole(schema.get("minLength"), 0), schema.get("maxLength")
        padded = min(max(minimum - len(text), 0), self.padding)
        self.padding -= padded
        text += "x" * padded
        return text[: max(maximum, 0)] if isinstance(maximum, int) and not isinstance(maximum, bool) else text

    def _number(self, schema: dict[str, Any], name: str, depth: int) -> float | int:
        minimum, maximum = _bound(schema.get("minimum")), _bound(schema.get("maximum"))
        above, below = _bound(schema.get("exclusiveMinimum")), _bound(schema.get("exclusiveMaximum"))
        value: float | int = 42
        if minimum is not None:
            value = minimum
        elif maximum is not None and maximum < value:
            value = maximum
        if above is not None and value <= above:
            value = above + 1
        if maximum is not None and value > maximum:
            value = maximum
        if below is not None and value >= below:
            value = below - 1 if above is None or below - 1 > above else (above + below) / 2
        return value

    def _integer(self, schema: dict[str, Any], name: str, depth: int) -> int:
        as_int = int(self._number(schema, name, depth))
        above = _bound(schema.get("exclusiveMinimum"))
        if above is not None and as_int <= above:
            as_int = int(above) + 1
        return as_int

    def _boolean(self, schema: dict[str, Any], name: str, depth: int) -> bool:
        return True

    def _null(self, schema: dict[str, Any], name: str, depth: int) -> None:
        return None
