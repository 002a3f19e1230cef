"""Structured output: a deterministic value that satisfies a JSON Schema (for `format` and tool arguments)."""

from __future__ import annotations

from typing import Any

#: How deep nested schemas are followed; deeper parts get the simplest value of their type.
_MAX_DEPTH = 12
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


class _Example:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root

    def _resolve(self, reference: str) -> Any:
        node: Any = self.root
        for part in reference.removeprefix("#/").split("/") if reference.startswith("#") else []:
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
        return node

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict):
            return f"mock {name}"
        if "$ref" in schema and depth < _MAX_DEPTH:
            return self.value(self._resolve(str(schema["$ref"])), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for keyword in ("anyOf", "oneOf"):
            if schema.get(keyword):
                return self.value(schema[keyword][0], name, depth + 1)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged |= part if isinstance(part, dict) else {}
            return self.value({**merged, **{k: v for k, v in schema.items() if k != "allOf"}}, name, depth + 1)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((item for item in kind if item != "null"), "null")
        maker = getattr(self, f"_{kind}", None)
        return maker(schema, name, depth) if maker else f"mock {name}"

    def _object(self, schema: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
        if depth >= _MAX_DEPTH:
            return {}
        properties = schema.get("properties") or {}
        return {key: self.value(sub, key, depth + 1) for key, sub in properties.items()}

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        count = max(1, int(schema.get("minItems", 1)))
        maximum = schema.get("maxItems")
        if isinstance(maximum, int):
            count = min(count, maximum)
        if depth >= _MAX_DEPTH:
            return []
        return [self.value(schema.get("items", {}), name, depth + 1) for _ in range(count)]

    def _string(self, schema: dict[str, Any], name: str, depth: int) -> str:
        text = _FORMATS.get(str(schema.get("format", "")), f"mock {name}")
        minimum, maximum = int(schema.get("minLength", 0)), schema.get("maxLength")
        text = text.ljust(minimum, "x")
        return text[:maximum] if isinstance(maximum, int) else text

    def _number(self, schema: dict[str, Any], name: str, depth: int) -> float | int:
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
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
        value = self._number(schema, name, depth)
        as_int = int(value)
        if "exclusiveMinimum" in schema and as_int <= schema["exclusiveMinimum"]:
            as_int = int(schema["exclusiveMinimum"]) + 1
        return as_int

    def _boolean(self, schema: dict[str, Any], name: str, depth: int) -> bool:
        return True

    def _null(self, schema: dict[str, Any], name: str, depth: int) -> None:
        return None
