"""How the OpenAPI document describes one operation: its parameters, security, and every response it
can give, with the headers the service sets on each (see service/app.py, auth.py, ratelimit.py and
idempotency.py for where they come from)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.openapi_schemas import Schema, enum, integer, ref, string

JSON = "application/json"

SUCCESS_MEANINGS = {
    200: "Success.",
    201: "Created.",
    202: "Accepted: the money move is recorded and submitted or queued; poll it for its final state.",
    204: "Done; no body.",
}
ERROR_MEANINGS = {
    400: "Invalid input: the message names the field and what to fix.",
    401: "Missing, invalid or expired credentials.",
    403: "The token lacks the role this route needs.",
    404: "No such object of yours.",
    409: "Conflicts with the current state (inactive wallet, insufficient balance, not cancellable or "
    "refundable, or a request with the same Idempotency-Key still in progress).",
    422: "Semantically impossible (currency mismatch, or an Idempotency-Key reused with another body).",
    429: "Rate limit exceeded for this route group.",
    503: "A backend (the TRON node or the database) is unavailable; retry after Retry-After seconds.",
}
RATE_LIMIT = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def header_ref(name: str, *, required: bool = False) -> Schema:
    # OpenAPI 3.0 ignores siblings of $ref, so a header required only here is spelled out in full.
    return headers()[name] | {"required": True} if required else {"$ref": f"#/components/headers/{name}"}


def _header(description: str, schema: Schema | None = None, required: bool = False) -> Schema:
    return {"description": description, "required": required, "schema": schema or string()}


def headers() -> dict[str, Schema]:
    """components/headers: what the service sets on responses."""
    return {
        "X-Request-ID": _header(
            "The request's id: the client's X-Request-ID if it sent a valid one.", required=True
        ),
        "X-Service-Version": _header("The service version.", required=True),
        **{
            name: _header(
                f"Rate limit ({name.rsplit('-', 1)[1].lower()}); absent while Redis is down.", integer()
            )
            for name in RATE_LIMIT
        },
        "Retry-After": _header("Seconds to wait before retrying.", integer(minimum=0), required=True),
        "Idempotent-Replayed": _header(
            "`true` when this is the stored response to an earlier request.", enum(["true"])
        ),
        "WWW-Authenticate": _header("The bearer challenge (bearer routes only)."),
    }


def parameters() -> dict[str, Schema]:
    """components/parameters."""
    return {
        "X-Request-ID": {
            "name": "X-Request-ID",
            "in": "header",
            "required": False,
            "schema": string(pattern="^[A-Za-z0-9._:-]{1,128}$"),
            "description": "Echoed back on the response; a value outside the pattern is refused with 400 "
            "(without the header, the service makes an id up).",
        }
    }


def query(name: str, schema: Schema, *, required: bool = False, description: str = "") -> Schema:
    param = {"name": name, "in": "query", "required": required, "schema": schema}
    return param | {"description": description} if description else param


def path(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def page_params() -> list[Schema]:
    return [
        query("page", integer(minimum=1, maximum=1_000_000, default=1)),
        query("limit", integer(minimum=1, maximum=100, default=20)),
    ]


def idempotency_key() -> Schema:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "schema": string(minLength=1, maxLength=255, pattern="^[\\x20-\\x7e]+$"),
        "description": "Same key and body from the same user: the original response again, with "
        "`Idempotent-Replayed: true`, and no second effect. Same key, other body: 422.",
    }


def response(
    description: str,
    schema: str | None,
    *,
    authed: bool,
    idempotent: bool,
    extra_headers: Mapping[str, Schema] | None = None,
    media_type: str = JSON,
) -> Schema:
    names = ["X-Request-ID", "X-Service-Version", *(RATE_LIMIT if authed else [])]
    names += ["Idempotent-Replayed"] if idempotent else []
    answer: Schema = {"description": description, "headers": {name: header_ref(name) for name in names}}
    answer["headers"].update(extra_headers or {})
    if schema is not None:
        answer["content"] = {media_type: {"schema": ref(schema)}}
    return answer


# Error responses differ only by the headers a route's kind of caller gets; each kind is a component.
ERROR_VARIANTS = {"public": (False, False), "bearer": (True, False), "idempotent": (True, True)}


def error_responses() -> dict[str, Schema]:
    """components/responses: every error status, once per kind of route."""
    retry = {"Retry-After": header_ref("Retry-After")}
    extra = {
        401: {"WWW-Authenticate": header_ref("WWW-Authenticate")},
        429: retry | {name: header_ref(name, required=True) for name in RATE_LIMIT},
        503: retry,
    }
    return {
        f"{status}-{variant}": response(
            meaning, "Error", authed=authed, idempotent=idempotent, extra_headers=extra.get(status)
        )
        for status, meaning in ERROR_MEANINGS.items()
        for variant, (authed, idempotent) in ERROR_VARIANTS.items()
    }


def operation(
    op_id: str,
    summary: str,
    ok: Mapping[int, str | None],
    errors: tuple[int, ...] = (),
    *,
    roles: tuple[str, ...] | None = (),
    params: list[Schema] | None = None,
    body: str | None = None,
    idempotent: bool = False,
    media_type: str = JSON,
    meanings: Mapping[int, str] = SUCCESS_MEANINGS,
) -> Schema:
    """One operation; `ok` maps its success statuses to schema names, `errors` lists the error statuses
    its handler raises. `roles` None: public; (): any authenticated caller, which adds 401 and 429;
    else one of those roles, which adds 403. `idempotent`: a money move, which requires an Idempotency-Key
    and adds 400 (no or bad key), 409 (key in progress) and 422 (key reused)."""
    authed = roles is not None
    # 400 everywhere: every operation takes the X-Request-ID header, and refuses one outside its pattern.
    statuses = {400, *errors} | ({401, 429} if authed else set()) | ({403} if roles else set())
    statuses |= {400, 409, 422} if idempotent else set()
    extra_params = [idempotency_key()] if idempotent else []
    responses = {
        str(status): response(
            meanings[status], schema, authed=authed, idempotent=idempotent, media_type=media_type
        )
        for status, schema in ok.items()
    }
    variant = "idempotent" if idempotent else "bearer" if authed else "public"
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{status}-{variant}"}
    spec: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary + (f" Roles: {', '.join(roles)}." if roles else ""),
        "tags": [op_id.split("_", 1)[0]],
        "security": [{"bearer": []}] if authed else [],
        "parameters": [{"$ref": "#/components/parameters/X-Request-ID"}, *(params or []), *extra_params],
        "responses": responses,
    }
    if body is not None:
        spec["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(body)}}}
    return spec
