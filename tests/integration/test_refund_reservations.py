"""Refund reservations against the real store: a replica that dies after any step leaks nothing.

Each crash is the process stopping between two steps of service/refunds.py (what it wrote stays, what
it would have done next never happens); the worker's sweep must then leave the payment holding
exactly the amounts of its refunds that are not failed, each once.
"""

from __future__ import annotations

import asyncio

from service import refunds
from service.ports.store import Doc, Store
from tests.integration.conftest import store_operation

PAYMENT_AMOUNT = 10_000_000


async def _payment(store: Store) -> Doc:
    return await store_operation(
        store,
        "payment",
        "payer",
        from_address="TPayer",
        to_address="TShop",
        amount=PAYMENT_AMOUNT,
        currency="TRX",
        status="completed",
        refund_reserved=0,
        refund_holds=[],
    )


async def _refund(store: Store, payment: Doc, amount: int) -> Doc:
    """Step 1 of a refund request: the refund stored, nothing held yet."""
    return await store_operation(
        store,
        "refund",
        "shop",
        from_address="TShop",
        to_address="TPayer",
        amount=amount,
        currency="TRX",
        payment_id=payment["_id"],
        status=refunds.RESERVING,
        hold="open",
    )


async def _sweep(store: Store) -> None:
    await asyncio.sleep(0.01)  # so "stored before now" holds for what was just written
    await refunds.recover(store, abandoned_after_ms=0)


async def _assert_holds_match(store: Store, payment: Doc) -> dict[str, str]:
    """The payment holds exactly its not-failed refunds' amounts, each once; their statuses."""
    current = await store.operations.find_one({"_id": payment["_id"]})
    assert current is not None
    rows = [r async for r in store.operations.find({"kind": "refund", "payment_id": payment["_id"]})]
    live = [r for r in rows if r["status"] != "failed"]
    assert sorted(current["refund_holds"]) == sorted(r["_id"] for r in live), current
    assert current["refund_reserved"] == sum(r["amount"] for r in live), current
    assert all(r["status"] != refunds.RESERVING for r in rows), "the sweep rolls every refund on"
    assert all(r["hold"] == "released" for r in rows if r["status"] == "failed")
    return {r["_id"]: r["status"] for r in rows}


async def test_a_fresh_refund_is_left_to_its_request(store: Store) -> None:
    payment = await _payment(store)
    refund = await _refund(store, payment, 1_000_000)
    assert await refunds.recover(store) == 0, "a refund its request is still reserving is not swept"
    assert (await store.operation(refund["_id"]) or {})["status"] == refunds.RESERVING


async def test_crash_after_storing_the_refund(store: Store) -> None:
    payment = await _payment(store)
    refund = await _refund(store, payment, 3_000_000)
    await _sweep(store)
    assert await _assert_holds_match(store, payment) == {refund["_id"]: "pending"}


async def test_crash_after_holding_the_amount(store: Store) -> None:
    payment = await _payment(store)
    refund = await _refund(store, payment, 3_000_000)
    assert await refunds.hold(store, refund)
    assert await refunds.hold(store, refund), "holding again finds it held, and holds nothing more"
    await _sweep(store)
    assert await _assert_holds_match(store, payment) == {refund["_id"]: "pending"}


async def test_crash_after_failing_before_giving_the_hold_back(store: Store) -> None:
    payment = await _payment(store)
    refund = await refunds.reserve(store, await _refund(store, payment, 4_000_000))
    assert refund["status"] == "pending"
    # The worker failed it on chain, then died before giving the hold back.
    await store.transition(refund["_id"], {"status": "pending"}, {"status": "failed"})
    await _sweep(store)
    assert await _assert_holds_match(store, payment) == {refund["_id"]: "failed"}
    await refunds.release(store, refund)  # given back twice: still once
    assert await _assert_holds_match(store, payment) == {refund["_id"]: "failed"}


async def test_racing_refunds_never_hold_more_than_the_payment(store: Store) -> None:
    payment = await _payment(store)
    racing = [await _refund(store, payment, 3_000_000) for _ in range(5)]
    # Each reserved twice at once: by its request and by a sweep that thinks it was abandoned.
    await asyncio.gather(*(refunds.reserve(store, r) for r in racing for _ in range(2)))
    statuses = await _assert_holds_match(store, payment)
    assert sorted(statuses.values()) == ["failed", "failed", "pending", "pending", "pending"]
