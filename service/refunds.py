"""Refund reservations: the amount a refund takes out of its payment, held once and never leaked.

A refund is stored first, in the state `reserving`, with `hold: "open"`. Its amount is then held
against the payment in one atomic update keyed by the refund's id (the id joins the payment's
`refund_holds` and the amount its `refund_reserved`, only if the id is not there yet and the payment
has that much left), and only then is the refund queued (`pending`) for the worker, or `failed` when
the payment had not that much left. A failed refund gives its hold back in one update keyed by the
same id. Every step is safe to run again, by anyone, so a replica that dies between two of them
leaves nothing lost: the worker's sweep (`recover`) rolls an abandoned `reserving` refund forward
and gives back the hold of a failed one.

Array membership is matched with `$nin` and plain equality, which behave the same on MongoDB and on
nx-27017 (whose `$ne` on an array does not match like MongoDB's).
"""

from __future__ import annotations

from service.clock import now_ms
from service.ports.store import Doc, Store

RESERVING = "reserving"
OVER_REFUND = "over-refund"
# A refund still `reserving` this long after it was stored was abandoned by its request (which takes
# milliseconds): the sweep rolls it forward. Running a step twice is harmless, so this is not a lock.
ABANDONED_AFTER_MS = 30_000
SWEEP_BATCH = 50


def shown_status(op: Doc) -> str:
    """The status the payment routes show: a refund still being reserved is simply pending there."""
    return "pending" if op["status"] == RESERVING else str(op["status"])


async def hold(store: Store, refund: Doc) -> bool:
    """Hold the refund's amount against its payment; True if it is held (now or before)."""
    payment = await store.operations.find_one({"_id": refund["payment_id"], "kind": "payment"})
    if payment is None:
        return False
    held = await store.operations.find_one_and_update(
        {
            "_id": payment["_id"],
            "refund_holds": {"$nin": [refund["_id"]]},
            "refund_reserved": {"$lte": payment["amount"] - refund["amount"]},
        },
        {"$push": {"refund_holds": refund["_id"]}, "$inc": {"refund_reserved": refund["amount"]}},
    )
    if held is not None:
        return True
    again = await store.operations.find_one({"_id": payment["_id"], "refund_holds": refund["_id"]})
    return again is not None


async def settle(store: Store, refund: Doc, held: bool) -> Doc:
    """Queue a held refund, or fail one the payment could not cover; the refund as it is now."""
    changes: Doc = (
        {"status": "pending"}
        if held
        else {
            "status": "failed",
            "completed_at": now_ms(),
            "failure_reason": f"{OVER_REFUND}: the payment has less than this left to refund",
        }
    )
    moved = await store.transition(refund["_id"], {"status": RESERVING}, changes)
    current = moved or await store.operations.find_one({"_id": refund["_id"]}) or refund
    if current["status"] == "failed":
        await release(store, current)  # also when another step held it meanwhile
    return current


async def reserve(store: Store, refund: Doc) -> Doc:
    """Carry a `reserving` refund to `pending` (amount held) or `failed` (nothing held)."""
    return await settle(store, refund, await hold(store, refund))


async def release(store: Store, refund: Doc) -> None:
    """Give a failed refund's hold back to its payment, once (keyed by the refund's id)."""
    await store.operations.update_one(
        {"_id": refund["payment_id"], "refund_holds": refund["_id"]},
        {"$pull": {"refund_holds": refund["_id"]}, "$inc": {"refund_reserved": -refund["amount"]}},
    )
    await store.operations.update_one({"_id": refund["_id"], "hold": "open"}, {"$set": {"hold": "released"}})


async def recover(store: Store, abandoned_after_ms: int = ABANDONED_AFTER_MS) -> int:
    """Finish what a dead replica left half done; how many refunds it moved on."""
    moved = 0
    abandoned = store.operations.find(
        {"hold": "open", "status": RESERVING, "submitted_at": {"$lt": now_ms() - abandoned_after_ms}}
    ).limit(SWEEP_BATCH)
    async for refund in abandoned:
        await reserve(store, refund)
        moved += 1
    async for refund in store.operations.find({"hold": "open", "status": "failed"}).limit(SWEEP_BATCH):
        await release(store, refund)
        moved += 1
    return moved
