"""A small validator for the OpenAPI 3.0 schema subset the admin document uses (type, nullable, properties,
required, items, enum, minItems/maxItems, minimum/maximum, pattern, $ref)."""

from __future__ import annotations

import re
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local $refs ("#/a/b/c") until a non-reference node."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_errors(
    document: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$"
) -> list[str]:
    """Every way `value` violates `schema` (an empty list when it conforms)."""
    schema = resolve(document, schema)
    if value is None:
        return [] if schema.get("nullable") or "type" not in schema else [f"{where}: null not allowed"]
    expected = schema.get("type")
    if expected is not None:
        python_types = _TYPES[expected]
        if not isinstance(value, python_types) or (
            expected in {"integer", "number"} and isinstance(value, bool)
        ):
            return [f"{where}: {value!r} is not {expected}"]
    errors: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{where}: {value} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{where}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{where}: missing {name}")
        for name, item in value.items():
            if name in schema.get("properties", {}):
                errors.extend(schema_errors(document, schema["properties"][name], item, f"{where}.{name}"))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{where}: {len(value)} items outside bounds")
        for index, item in enumerate(value):
            errors.extend(schema_errors(document, schema.get("items", {}), item, f"{where}[{index}]"))
    return errors
