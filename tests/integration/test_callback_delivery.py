"""Callback delivery against the real store: one sender per attempt, bounded time, the checked address."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from service.callbacks import CallbackSender, Resolver
from service.ports.store import Doc, Store
from tests.integration.conftest import store_operation


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """An HTTP receiver on loopback answering 204; what it got (headers)."""
    got: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            got.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port, got
    server.shutdown()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A receiver that takes the connection and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def counting_resolver(address: str, asked: list[str]) -> Resolver:
    """A stand-in for DNS (none we control runs here): every name resolves to `address`; each
    lookup is counted."""

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return [address]

    return resolve


async def _completed_payment(store: Store, url: str) -> Doc:
    return await store_operation(
        store,
        "payment",
        "payer",
        from_address="TPayer",
        to_address="TShop",
        amount=1_000_000,
        currency="TRX",
        status="completed",
        tx_id="ab" * 32,
        callback_url=url,
        callback={"state": "pending", "attempts": 0, "next_at": 0},
    )


def _sender(store: Store, *, production: bool = False, **extra: Any) -> CallbackSender:
    return CallbackSender(
        store,
        "callback-secret",
        production=production,
        owner=f"w-{uuid.uuid4().hex[:4]}",
        poll_seconds=0.05,
        **extra,
    )


async def _callback(store: Store, op: Doc) -> dict[str, Any]:
    found = await store.operations.find_one({"_id": op["_id"]})
    assert found is not None
    return dict(found["callback"])


async def test_racing_senders_deliver_each_attempt_once(
    store: Store, receiver: tuple[int, list[dict[str, str]]]
) -> None:
    port, got = receiver
    op = await _completed_payment(store, f"http://127.0.0.1:{port}/hook")
    senders = [_sender(store) for _ in range(4)]
    try:
        took = await asyncio.gather(*(s.deliver_due() for s in senders))
    finally:
        for sender in senders:
            await sender.stop()
    assert took.count(True) == 1 and len(got) == 1, (took, got)
    assert (await _callback(store, op))["state"] == "delivered"


async def test_an_attempt_is_bounded_in_time_and_tried_again_later(store: Store, silent_port: int) -> None:
    op = await _completed_payment(store, f"http://127.0.0.1:{silent_port}/hook")
    sender = _sender(store, delivery_seconds=1.0)
    started = time.monotonic()
    try:
        assert await sender.deliver_due()
    finally:
        await sender.stop()
    assert time.monotonic() - started < 2.5, "the receiver never answers; the attempt gives up"
    callback = await _callback(store, op)
    assert callback["state"] == "pending" and callback["attempts"] == 1 and callback["next_at"] > 0


async def test_the_host_is_looked_up_once_and_that_address_connected_to(
    store: Store, receiver: tuple[int, list[dict[str, str]]]
) -> None:
    port, got = receiver
    asked: list[str] = []
    # `callback.example` resolves nowhere on this machine: only the looked-up address can be reached.
    op = await _completed_payment(store, f"http://callback.example:{port}/hook")
    sender = _sender(store, resolver=counting_resolver("127.0.0.1", asked))
    try:
        assert await sender.deliver_due()
    finally:
        await sender.stop()
    assert asked == ["callback.example"], "one lookup per attempt, none by the HTTP client"
    assert [h["Host"] for h in got] == [f"callback.example:{port}"]
    assert (await _callback(store, op))["state"] == "delivered"


async def test_production_never_connects_to_an_inside_address(
    store: Store, receiver: tuple[int, list[dict[str, str]]]
) -> None:
    port, got = receiver
    # Accepted when it was set (say it resolved outside then); now the name points at loopback.
    op = await _completed_payment(store, f"https://callback.example:{port}/hook")
    sender = _sender(store, production=True, resolver=counting_resolver("127.0.0.1", []))
    try:
        assert await sender.deliver_due()
    finally:
        await sender.stop()
    assert got == [], "nothing sent inside"
    assert (await _callback(store, op))["state"] == "pending"
