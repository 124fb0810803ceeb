"""A replica whose store client is wedged comes back by itself once the store answers again, a busy
client is not replaced for one slow probe, and a store that is really gone is not mistaken for a
wedged client.

The wedge is pymongo's async client on Python 3.11 after a task was cancelled during server selection
("RuntimeError: Lock is not acquired", seen in chaos 08 with the store stalled): the topology lock is
left held by a task that is gone, so every later operation waits on it for ever. The test leaves the
lock in that state itself (held, never released), on a real store that answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid

import pytest
from pymongo.errors import PyMongoError

from service.ports.store import Store
from stack.local import Backends


async def _probe_until_replaced(store: Store, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while store.replaced_clients == 0:
        assert time.monotonic() < deadline, "the wedged client was not replaced"
        with contextlib.suppress(TimeoutError, PyMongoError):
            await store.ping(0.3)  # the kubelet's readiness probe, failing meanwhile
        await asyncio.sleep(0.2)


async def test_a_wedged_client_is_replaced_and_the_store_serves_again(backends: Backends) -> None:
    store = Store(backends.store.url, f"wedge_{uuid.uuid4().hex[:8]}", wedged_after_s=1.0)
    try:
        assert await store.ping(1.0)
        await store._client._topology._lock.acquire()  # the driver bug's end state: held by no one alive
        with pytest.raises(TimeoutError):
            await store.ping(0.3)

        await _probe_until_replaced(store, timeout_s=15)

        assert store.replaced_clients == 1
        assert await store.ping(1.0)
        wallet = {"_id": f"w-{uuid.uuid4().hex[:8]}", "user_id": "u", "address": f"T{uuid.uuid4().hex}"}
        await store.insert_wallet({**wallet, "deleted": False})
        found = await store.wallet("u", wallet["_id"])
        assert found is not None and found["address"] == wallet["address"]
    finally:
        await store.close()


async def test_one_failed_probe_of_a_healthy_client_replaces_nothing(backends: Backends) -> None:
    store = Store(backends.store.url, f"wedge_{uuid.uuid4().hex[:8]}", wedged_after_s=0.0)
    try:
        assert await store.ping(1.0)
        with pytest.raises((TimeoutError, PyMongoError)):
            await store.ping(0.000001)  # too short for any answer: a busy moment, not a wedge
        await asyncio.sleep(1.5)  # the background check has run by now
        assert await store.ping(1.0)
        assert store.replaced_clients == 0, "a client that still answers must be kept"
    finally:
        await store.close()


async def test_a_store_that_does_not_answer_is_not_taken_for_a_wedged_client() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = Store(f"mongodb://127.0.0.1:{port}", "nowhere", wedged_after_s=0.0)
    try:
        for _ in range(3):
            with pytest.raises((TimeoutError, PyMongoError)):
                await store.ping(0.5)
        await asyncio.sleep(1.5)  # the background check has run by now
        assert store.replaced_clients == 0
    finally:
        await store.close()
