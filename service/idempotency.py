"""Idempotency-Key handling: one effect per key, the original response replayed to every retry.

The record is claimed in the store with a unique id before the handler runs, so two requests with
the same key racing on different replicas cannot both run it; the loser waits for the winner's
response. Handlers derive the ids of what they create from the key (`derived_id`), so even a
request that takes over a stale key after a crash finds the objects already made, not new ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

from quart import Response, current_app, g, jsonify, make_response, request

from service import read_ahead
from service.after_response import after_response
from service.auth import principal
from service.clock import now_ms
from service.errors import IDEMPOTENCY_CONFLICT, IDEMPOTENCY_MISMATCH, ApiError, invalid
from service.validation import NOT_JSON, json_body, raw_body

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
_NAMESPACE = uuid.UUID("6f1c7f57-2d2b-4e0a-9d38-1f3f3e8b7a11")
WAIT_FOR_ORIGINAL_SECONDS = 25.0
STALE_AFTER_MS = 120_000


def derived_id(*parts: object) -> str:
    """A UUID fixed by the request's idempotency key (random without one)."""
    key_id = getattr(g, "idempotency_key_id", None)
    if key_id is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_NAMESPACE, ":".join([key_id, *map(str, parts)])))


async def _fingerprint() -> str:
    body = await json_body()
    if body is NOT_JSON:  # not JSON, or nested too deep: the raw bytes are the body
        canonical = await raw_body()
    else:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(
        request.method.encode() + b" " + request.path.encode() + b"\n" + canonical
    ).hexdigest()


def idempotent(view: F) -> F:
    """Every money move requires an Idempotency-Key: without one, a client's timeout and retry (or
    the mesh's) would move the money twice."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            raise invalid(
                "Idempotency-Key",
                "header is required: send a unique key per money move, and the same key when you retry it",
            )
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise invalid("Idempotency-Key", "must be 1 to 255 printable characters")
        store = current_app.config["PORTS"].store
        key_id = hashlib.sha256(f"{principal().user_id}\0{key}".encode()).hexdigest()
        fingerprint = await _fingerprint()
        g.idempotency_key_id = key_id
        record = {
            "_id": key_id,
            "state": "in_progress",
            "fingerprint": fingerprint,
            "started_at": now_ms(),
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_ORIGINAL_SECONDS
        while (existing := await store.claim_idempotency_key(record)) is not None:
            read_ahead.drop_untaken()  # read before a wait: a handler that runs after it reads afresh
            if existing["fingerprint"] != fingerprint:
                raise ApiError(
                    422,
                    IDEMPOTENCY_MISMATCH,
                    "Idempotency-Key was already used with a different request body; use a new key",
                )
            if existing["state"] == "done":
                return _replay(existing)
            if await store.release_idempotency_key(key_id, stale_before=now_ms() - STALE_AFTER_MS):
                continue  # the first attempt died mid-way; take over (ids are derived, so no duplicates)
            if loop.time() > deadline:
                raise ApiError(
                    409,
                    IDEMPOTENCY_CONFLICT,
                    "a request with this Idempotency-Key is still in progress; retry shortly",
                )
            await asyncio.sleep(0.05)
        try:
            response = await make_response(await view(*args, **kwargs))
        except ApiError as err:
            if err.status >= 500:
                await store.release_idempotency_key(key_id)
                raise
            error = {"__error__": [err.code, err.message, err.details]}
            await _finish_after_response(key_id, err.status, error)
            raise
        except BaseException:
            await store.release_idempotency_key(key_id)
            raise
        if response.status_code >= 500:
            await store.release_idempotency_key(key_id)
        else:
            await _finish_after_response(key_id, response.status_code, await response.get_json())
        return response

    return wrapper  # type: ignore[return-value]


async def _finish_after_response(key_id: str, status: int, body: Any) -> None:
    """Record the answer for retries once the client has it: the money move is stored already, so the
    client need not wait for this write. A retry that comes first finds the key in progress and
    waits for it, as for any request still running; if the replica dies before it is written, the
    retry takes the key over once it is stale, and the ids derived from the key find what was made."""
    store = current_app.config["PORTS"].store

    async def finish() -> None:
        await store.finish_idempotency_key(key_id, status, body)

    await after_response(finish)


def _replay(record: dict[str, Any]) -> Response:
    body = record["body"]
    if isinstance(body, dict) and "__error__" in body:
        code, message, details = body["__error__"]
        raise ApiError(record["status"], code, message, details, headers={"Idempotent-Replayed": "true"})
    response = jsonify(body)
    response.status_code = record["status"]
    response.headers["Idempotent-Replayed"] = "true"
    return response
