"""Reading request bodies and query strings: every rejection names the field and what to fix."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from quart import g, request
from tronpy import keys

from service.clock import to_ms
from service.errors import NOT_FOUND, ApiError, invalid
from service.money import AmountError, parse_amount

_KEY_MATERIAL = ("private_key", "privatekey", "secret_key", "mnemonic", "seed")


ADDRESS_SHAPE = re.compile(r"T[1-9A-HJ-NP-Za-km-z]{33}")  # fullmatch: `$` would let a trailing newline in


def parse_address(value: Any, field: str) -> str:
    """A TRON address: not shaped like one (the document's pattern) is bad input, 400; shaped like
    one but with a wrong checksum names no account that can exist, so it is not found, 404.
    [decided] 404 rather than 400 for the checksum: the document's pattern cannot express a
    checksum, and a request the document calls valid must not be refused as malformed."""
    if not isinstance(value, str) or not ADDRESS_SHAPE.fullmatch(value):
        raise invalid(field, "must be a TRON base58 address (T and 33 base58 characters)")
    if not is_tron_address(value):
        raise ApiError(
            404,
            NOT_FOUND,
            f"{field}: no TRON address has this checksum; check it for a typo",
            {"field": field},
        )
    return value


def is_tron_address(value: Any) -> bool:
    """Base58 with the right alphabet, length, 0x41 prefix and a valid checksum."""
    if not isinstance(value, str) or len(value) != 34 or not value.startswith("T"):
        return False
    try:
        return bool(keys.is_base58check_address(value))
    except ValueError:  # tronpy raises on a bad checksum instead of answering False
        return False


def _check_fields(data: dict[str, Any]) -> None:
    """Walk the whole body (iteratively: it may be deeply nested): no key material under any field
    name, and only text the store can encode (JSON escapes can carry unpaired UTF-16 surrogates)."""
    pending: list[Any] = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _require_text(item)
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            for field, value in item.items():
                _require_text(field)  # before it is quoted in an error that gets stored
                if any(marker in field.lower().replace("-", "_") for marker in _KEY_MATERIAL):
                    raise invalid(
                        field, "key material is never accepted: wallets are custodial, name a wallet instead"
                    )
                pending.append(value)


def _refuse_unknown_fields(data: dict[str, Any]) -> None:
    from service import body_fields  # the document imports the routes' shapes: read it on first use

    rule = request.url_rule.rule if request.url_rule is not None else ""
    schema = body_fields.body_schema(request.method, rule)
    if schema is None:
        return
    field = body_fields.unknown_field(data, schema)
    if field is not None:
        raise invalid(
            field,
            "is not a field of this request; leave it out (the fields are "
            f"{', '.join(body_fields.allowed_fields(schema))}, see /openapi.json)",
        )


def _require_text(value: str) -> None:
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ApiError(400, "LUCID_ERR_9005", "the body holds an unpaired UTF-16 surrogate") from None


class Body:
    """A JSON object request body, read field by field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    async def load(cls) -> Body:
        data = await json_body()
        if not isinstance(data, dict):
            raise ApiError(
                400, "LUCID_ERR_9005", "the body must be a JSON object (Content-Type: application/json)"
            )
        _check_fields(data)
        _refuse_unknown_fields(data)
        return cls(data)

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and name in self.data:
            raise invalid(name, "must not be null: leave the field out instead")
        if value is None and required:
            raise invalid(name, "is required")
        return value

    def string(self, name: str, *, required: bool = True, min_len: int = 1, max_len: int = 255) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(name, "must be a string")
        if not min_len <= len(value) <= max_len:
            raise invalid(name, f"must be {min_len} to {max_len} characters long")
        return value

    def require_string(self, name: str, *, min_len: int = 1, max_len: int = 255) -> str:
        value = self.string(name, min_len=min_len, max_len=max_len)
        assert value is not None
        return value

    def amount(self, name: str = "amount", *, required: bool = True) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            return parse_amount(value)
        except AmountError as exc:
            raise invalid(name, str(exc)) from None

    def require_amount(self, name: str = "amount") -> int:
        value = self.amount(name)
        assert value is not None
        return value

    def address(self, name: str) -> str:
        return parse_address(self._get(name, True), name)

    def choice(self, name: str, options: Iterable[str], *, default: str | None = None) -> str:
        allowed = list(options)
        value = self._get(name, default is None)
        if value is None:
            assert default is not None
            return default
        if value not in allowed:
            raise invalid(name, f"must be one of {', '.join(allowed)}")
        return str(value)

    def boolean(self, name: str) -> bool | None:
        value = self._get(name, False)
        if value is not None and not isinstance(value, bool):
            raise invalid(name, "must be true or false")
        return value

    def uuid(self, name: str) -> str:
        return parse_uuid(self._get(name, True), name)


def parse_uuid(value: Any, name: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise invalid(name, "must be a UUID") from None


def query_choice(name: str, options: Iterable[str]) -> str | None:
    value = request.args.get(name)
    allowed = list(options)
    if value is not None and value not in allowed:
        raise invalid(name, f"must be one of {', '.join(allowed)}")
    return value


def query_time_ms(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, "must be an ISO-8601 date or time, e.g. 2026-11-26T00:00:00Z") from None
    return to_ms(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def query_time_window(start_name: str, end_name: str) -> dict[str, int]:
    """A Mongo range on a millisecond timestamp from two optional query parameters ({} for none).
    [decided] A window that ends before it starts is empty, not an error: each bound is valid on its
    own, and no schema can relate two parameters, so the document could not tell clients otherwise."""
    start, end = query_time_ms(start_name), query_time_ms(end_name)
    window = {"$gte": start, "$lte": end}
    return {op: value for op, value in window.items() if value is not None}


def query_date(name: str) -> date | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(name, "must be a date, YYYY-MM-DD") from None


class Page:
    """`page` (>= 1) and `limit` (1..100) from the query string."""

    def __init__(self) -> None:
        self.page = _query_int("page", 1, 1, 1_000_000)
        self.limit = _query_int("limit", 20, 1, 100)

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.limit

    def envelope(self, total: int) -> dict[str, int]:
        return {"page": self.page, "limit": self.limit, "total": total, "pages": -(-total // self.limit)}


def _query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"must be a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise invalid(name, f"must be a whole number from {low} to {high}")
    return value


async def raw_body() -> bytes:
    """The request body exactly as sent (signatures and fingerprints are over these bytes)."""
    data = await request.get_data()
    return data if isinstance(data, bytes) else data.encode()


# What `json_body` gives for a body that is not JSON (not UTF-8, not JSON, or nested too deep to parse).
NOT_JSON: Any = object()


async def json_body() -> Any:
    """The request body parsed as JSON, once per request (its fingerprint, the reads a money move starts
    ahead and `Body.load` each need it), or `NOT_JSON`. Shared: read it, never change it."""
    if "json_body" not in g:
        try:
            g.json_body = json.loads(await raw_body())
        except (ValueError, RecursionError):
            g.json_body = NOT_JSON
    return g.json_body
