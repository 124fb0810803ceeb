"""A replica whose store client is wedged comes back by itself once the store answers again, and a
store that is really gone is not mistaken for a wedged client.

The wedge is pymongo's async client on Python 3.11 after a task was cancelled during server selection
("RuntimeError: Lock is not acquired", seen in chaos 08 with the store stalled): the topology lock is
left held by a task that is gone, so every later operation waits on it for ever. The test leaves the
lock in that state itself (held, never released), on a real store that answers."""

from __future__ import annotations

import socket
import uuid

import pytest
from pymongo.errors import PyMongoError

from service.ports.store import Store


async def test_a_wedged_client_is_replaced_and_the_store_serves_again(store: Store) -> None:
    assert await store.ping(1.0)
    await store._client._topology._lock.acquire()  # the driver bug's end state: held by no one alive

    with pytest.raises(TimeoutError):
        await store.ping(1.0)  # this probe still fails (the replica is unready meanwhile) ...

    assert store.replaced_clients == 1
    assert await store.ping(1.0)  # ... the next one answers on the new client
    wallet = {"_id": f"w-{uuid.uuid4().hex[:8]}", "user_id": "u", "address": f"T{uuid.uuid4().hex}"}
    await store.insert_wallet({**wallet, "deleted": False})
    found = await store.wallet("u", wallet["_id"])
    assert found is not None and found["address"] == wallet["address"]


async def test_a_store_that_does_not_answer_is_not_taken_for_a_wedged_client() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = Store(f"mongodb://127.0.0.1:{port}", "nowhere")
    try:
        for _ in range(2):
            with pytest.raises((TimeoutError, PyMongoError)):
                await store.ping(0.6)
        assert store.replaced_clients == 0
    finally:
        await store.close()
