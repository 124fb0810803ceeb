"""Work a request leaves for after its response has gone out, still inside the request's own task.

The client is answered one store round trip sooner (an Idempotency-Key's finish record, written after
every money move, was the last of a payout's six waits), and the work still counts as the request's:
the server's drain on SIGTERM waits for it as for the request (uvicorn, the server we deploy, waits
for its request tasks: `_wait_tasks_to_complete` in uvicorn/server.py), and a client that leaves after
its answer does not cancel it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from quart import request

log = logging.getLogger(__name__)
_KEY = "service.after_response"  # the ASGI scope's list of work, made by the connection that runs it


def accept_after_response(scope: dict[str, Any]) -> None:
    """The connection serving `scope` runs its after-response work (`run_after_response`)."""
    scope[_KEY] = []


async def after_response(work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` once the response has been sent, or now if nothing serving this request would."""
    pending: list[Callable[[], Awaitable[None]]] | None = request.scope.get(_KEY)  # type: ignore[assignment]
    if pending is None:
        await work()
    else:
        pending.append(work)


async def run_after_response(scope: dict[str, Any]) -> None:
    """The work left for after the response, in order; one that fails is logged, the rest still run
    (the client has its answer: there is no one left to tell)."""
    for work in scope.pop(_KEY, ()):
        try:
            await work()
        except Exception:
            log.exception("work after the response failed")
