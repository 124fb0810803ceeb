"""Which fields a request body may carry, read from the OpenAPI document the service serves, so the
document and the service cannot disagree: a field the document does not list is refused (a typo in
an optional field would otherwise be dropped silently, and a move made without what the client meant)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from service.openapi_operations import JSON
from service.openapi_schemas import Schema
from service.openapi_spec import build_spec

_QUART_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # <id:wallet_id> -> {wallet_id}


@cache
def _document() -> dict[str, Any]:
    return build_spec()


@cache
def body_schema(method: str, rule: str) -> Schema | None:
    """The request body's schema of the route `rule` (Quart's syntax) for `method`, if it has one."""
    item = _document()["paths"].get(_QUART_PARAMETER.sub(r"{\1}", rule), {})
    body = item.get(method.lower(), {}).get("requestBody")
    return body["content"][JSON]["schema"] if body else None


def unknown_field(data: Any, schema: Schema) -> str | None:
    """The path (`payouts[2].memo`) of the first field `schema` does not allow, or None."""
    schema = _resolve(schema)
    if isinstance(data, dict) and schema.get("additionalProperties") is False:
        allowed = schema.get("properties", {})
        for name, value in data.items():
            if name not in allowed:
                return name
            if (inner := unknown_field(value, allowed[name])) is not None:
                return f"{name}{inner}" if inner.startswith("[") else f"{name}.{inner}"
    elif isinstance(data, list) and "items" in schema:
        for index, value in enumerate(data):
            if (inner := unknown_field(value, schema["items"])) is not None:
                return f"[{index}]{inner}" if inner.startswith("[") else f"[{index}].{inner}"
    return None


def allowed_fields(schema: Schema) -> list[str]:
    return sorted(_resolve(schema).get("properties", {}))


def _resolve(schema: Schema) -> Schema:
    while "$ref" in schema:
        schema = _document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema
