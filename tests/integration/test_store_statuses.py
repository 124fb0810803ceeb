"""Which operations the funds check and the queue's age count, by status: every status the service
writes, once each. The store asks for a range of statuses (service/ports/store.py `status_range`),
so a status that sorts into the wrong place would be counted, or missed, here first."""

from __future__ import annotations

import pytest

from service.openapi_schemas import OPERATION_STATUSES
from service.ports.store import STATUSES, Promised, Store, status_range
from tests.integration.conftest import store_operation

EVERY_STATUS = ("pending", "processing", "reserving", "completed", "failed", "cancelled")


def test_the_store_knows_every_status_an_operation_can_have() -> None:
    assert sorted(STATUSES) == sorted(EVERY_STATUS) == sorted([*OPERATION_STATUSES, "reserving"])


def test_statuses_that_are_not_one_range_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="processing"):
        status_range(("pending", "reserving"))


async def test_the_funds_check_counts_every_open_operation_and_no_finished_one(store: Store) -> None:
    amounts = {status: 10**place for place, status in enumerate(EVERY_STATUS)}
    for status, amount in amounts.items():
        await store_operation(
            store, "payout", "u", from_address="A", amount=amount, currency="TRX", status=status
        )
    await store_operation(store, "payout", "u", from_address="B", amount=7, currency="TRX")
    open_ones = amounts["pending"] + amounts["processing"] + amounts["reserving"]
    assert await store.promised("A") == Promised(trx=open_ones, usdt=0, transactions=3)


async def test_the_queue_age_is_the_oldest_pending_or_processing_operation(store: Store) -> None:
    # Each status older than the one before it: a reserving refund and the finished ones are oldest,
    # and none of them is waiting in the queue.
    for age, status in enumerate(("processing", "pending", "reserving", "completed", "failed", "cancelled")):
        await store_operation(
            store, "refund", "u", amount=1, currency="TRX", status=status, submitted_at=100 - age
        )
    assert await store.oldest_unfinished() == {"refund": 99}
