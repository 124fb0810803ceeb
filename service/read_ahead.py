"""Reads a money move starts beside the claim of its Idempotency-Key, for the handler to take up later.

A payout's claim of its key and its first read (the source wallet) are each a round trip to the store,
and neither needs the other's answer: started together, the request waits for one round trip where it
waited for two (docs/performance.md, "Tried on 2026-12-01": kept since 2026-12-05, write 1.05x to
1.07x req/s).
Only reads go ahead, never a write: a request whose claim fails (a replay, a key in use, a different
body) has changed nothing, and what it read is dropped. A handler uses a read ahead only if the key was
claimed at the first attempt, so the read is what it would have made itself a round trip later; after
any wait for the key (another request holding it) the reads are dropped and the handler reads afresh.
The claim still comes before every write of the handler.

The handler takes a read up by its key (`take`) where it would have made it; what no handler takes is
cancelled when the request ends (`drop_untaken`), its failure, if any, read so that none is reported
as never retrieved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from functools import wraps
from typing import Any, TypeVar

from quart import g

from service.validation import NOT_JSON, json_body

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def reads_ahead(start_reads: Callable[[Any], None]) -> Callable[[F], F]:
    """Call `start_reads(body)` (the request's JSON body; None if it is not JSON: the handler refuses it)
    before `view`, the money move under `@idempotent`, and drop what it did not take once it ends.
    `start_reads` only starts reads (`start`), and any body must do: the handler validates it."""

    def decorate(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            body = await json_body()
            start_reads(None if body is NOT_JSON else body)
            try:
                return await view(*args, **kwargs)
            finally:
                drop_untaken()

        return wrapper  # type: ignore[return-value]

    return decorate


def start(key: Hashable, read: Awaitable[Any]) -> None:
    """Begin `read` now, for this request's handler to `take` by `key` (one read per key)."""
    g.setdefault("reads_ahead", {})[key] = asyncio.ensure_future(read)


def take(key: Hashable) -> asyncio.Future[Any] | None:
    """The read started under `key` in this request, once (None if none was)."""
    reads: dict[Hashable, asyncio.Future[Any]] = g.get("reads_ahead", {})
    return reads.pop(key, None)


def drop_untaken() -> None:
    for read in g.pop("reads_ahead", {}).values():
        if read.done():
            if not read.cancelled():
                read.exception()  # retrieved: a failure no one waited for is not an error to log
        else:
            read.cancel()
