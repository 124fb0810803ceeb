"""The background worker each replica runs: claims operations, confirms them, sends callbacks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time

import httpx

from service import metrics
from service.clock import iso, now_ms
from service.money import format_amount
from service.operations import KINDS, PRIORITY_RANK, Processor
from service.ports import Ports
from service.ports.store import Doc

log = logging.getLogger(__name__)
CALLBACK_ATTEMPTS = 6  # backoff 1, 2, 4, 8, 16 s between them


def sign_payload(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, for webhooks in and callbacks out."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class Worker:
    def __init__(self, ports: Ports, processor: Processor, webhook_secret: str, poll_seconds: float) -> None:
        self._ports = ports
        self._processor = processor
        self._secret = webhook_secret
        self._poll = poll_seconds
        self._accepting = True
        self._task: asyncio.Task[None] | None = None
        self._http = httpx.AsyncClient(timeout=5.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="operations-worker")

    async def stop(self) -> None:
        """Stop taking new work, let the current step finish, then end."""
        self._accepting = False
        if self._task is not None:
            await self._task
        await self._http.aclose()

    def drain(self) -> None:
        self._accepting = False

    async def _run(self) -> None:
        while self._accepting:
            try:
                busy = await self._tick()
            except Exception:
                log.exception("worker tick failed")
                busy = False
            if not busy:
                await asyncio.sleep(self._poll)

    async def _tick(self) -> bool:
        """One round; True if it found work (then the next round starts at once)."""
        busy = False
        op = await self._ports.store.claim(
            self._processor.worker_name, self._processor.lease_until(), list(KINDS)
        )
        if op is not None:
            await self._processor.step(op)
            busy = True
        for waiting in await self._awaiting_confirmation():
            if not self._accepting:
                break
            await self._processor.step(waiting)
        await self._deliver_callbacks()
        await self._publish_queue_depth()
        return busy

    async def _awaiting_confirmation(self) -> list[Doc]:
        items, _ = await self._ports.store.find_operations(
            {"status": "processing", "stage": "broadcast"}, limit=50, sort=[("broadcast_at", 1)]
        )
        return items

    async def _publish_queue_depth(self) -> None:
        depth = await self._ports.store.queue_depth("payout")
        for priority in PRIORITY_RANK:
            metrics.PAYOUT_QUEUE_DEPTH.labels(priority=priority).set(depth.get(priority, 0))

    async def _deliver_callbacks(self) -> None:
        due, _ = await self._ports.store.find_operations(
            {"callback.state": "pending", "callback.next_at": {"$lte": now_ms()}}, limit=20
        )
        for op in due:
            await self._deliver(op)

    async def _deliver(self, op: Doc) -> None:
        attempts = op["callback"]["attempts"] + 1
        event = {
            "event_type": f"payment.{op['status']}",
            "payment_id": op["_id"],
            "tx_id": op.get("tx_id"),
            "status": op["status"],
            "amount": format_amount(op["amount"]),
            "currency": op["currency"],
            "timestamp": iso(now_ms()),
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Lucid-Signature": sign_payload(self._secret, body)}
        try:
            response = await self._http.post(op["callback_url"], content=body, headers=headers)
            delivered = response.status_code < 300
        except httpx.HTTPError:
            delivered = False
        if delivered:
            state = {"state": "delivered", "attempts": attempts, "next_at": None}
        elif attempts >= CALLBACK_ATTEMPTS:
            state = {"state": "failed", "attempts": attempts, "next_at": None}
        else:
            state = {
                "state": "pending",
                "attempts": attempts,
                "next_at": now_ms() + 1000 * 2 ** (attempts - 1),
            }
        await self._ports.store.transition(
            op["_id"], {"callback.attempts": attempts - 1}, {"callback": state}
        )
