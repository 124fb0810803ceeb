"""Store calls made in the same event-loop turn, most of which share one round trip
(service/ports/batching.py): every caller still gets its own exact answer, and a write is still won
by exactly one caller per id."""

from __future__ import annotations

import asyncio

from service.clock import now_ms
from service.operations import new_operation
from service.ports.store import NOTHING_PROMISED, Fees, Promised, Store
from tests.integration.conftest import store_operation


def _claim(key_id: str, fingerprint: str) -> dict[str, object]:
    return {"_id": key_id, "state": "in_progress", "fingerprint": fingerprint, "started_at": now_ms()}


async def test_idempotency_claims_in_one_turn_have_one_winner_per_key(store: Store) -> None:
    answers = await asyncio.gather(
        *(store.claim_idempotency_key(_claim("shared", f"attempt-{i}")) for i in range(3)),
        store.claim_idempotency_key(_claim("alone-1", "x")),
        store.claim_idempotency_key(_claim("alone-2", "y")),
    )
    shared, alone = answers[:3], answers[3:]
    assert alone == [None, None], "a key nobody else holds is claimed"
    winners = [i for i, answer in enumerate(shared) if answer is None]
    assert len(winners) == 1, f"exactly one request with the shared key runs, got {shared}"
    stored = await store.idempotency_record("shared")
    assert stored is not None and stored["fingerprint"] == f"attempt-{winners[0]}"
    for answer in shared:
        assert answer is None or answer["fingerprint"] == stored["fingerprint"], "the losers see the winner"

    await asyncio.gather(
        store.finish_idempotency_key("alone-1", 202, {"payout_id": "p1"}),
        store.finish_idempotency_key("alone-2", 409, {"__error__": ["E", "m", {}]}),
    )
    first, second = await store.idempotency_record("alone-1"), await store.idempotency_record("alone-2")
    assert first is not None and (first["state"], first["status"], first["body"]) == (
        "done",
        202,
        {"payout_id": "p1"},
    )
    assert second is not None and (second["state"], second["status"]) == ("done", 409)


async def test_operation_inserts_in_one_turn_create_each_id_once(store: Store) -> None:
    def payout(op_id: str, amount: int) -> dict[str, object]:
        return new_operation("payout", op_id, "u", from_address="A", amount=amount, currency="TRX")

    results = await asyncio.gather(
        *(store.insert_operation(payout("same", amount)) for amount in (1, 2, 3)),
        store.insert_operation(payout("other", 9)),
    )
    same = results[:3]
    assert [created for _, created in same].count(True) == 1, "one insert per id wins"
    kept = (await store.operation("same") or {})["amount"]
    assert all(op["amount"] == kept for op, _ in same), "every caller gets the operation that was stored"
    assert results[3][1] and results[3][0]["amount"] == 9
    assert (await store.promised("A")).trx == kept + 9


async def test_promised_sums_in_one_turn_match_each_asked_alone(store: Store) -> None:
    for kind, address, currency, amount, status, energy in (
        ("payout", "A", "TRX", 10, "pending", {}),
        ("payout", "A", "TRX", 20, "processing", {}),
        ("payout", "A", "TRX", 1000, "completed", {}),  # final: promises nothing any more
        ("usdt_transfer", "A", "USDT", 7, "pending", {"energy": 14_650}),
        ("usdt_approve", "A", "USDT", 100, "pending", {}),  # moves nothing, but its transaction burns a fee
        ("payout", "B", "TRX", 5, "pending", {}),
        ("usdt_transfer", "D", "USDT", 4, "processing", {"energy": 29_650}),
        ("usdt_transfer", "D", "USDT", 9, "completed", {"energy": 14_650}),  # paid already
    ):
        await store_operation(
            store, kind, "u", from_address=address, amount=amount, currency=currency, status=status, **energy
        )
    asked = ["A", "B", "C", "A", "D"]
    together = await asyncio.gather(*(store.promised(address) for address in asked))
    alone = [await store.promised(address) for address in asked]
    a = Promised(trx=30, usdt=7, transactions=4, energy=14_650)  # two currencies and an approval: one by one
    b, d = Promised(trx=5, usdt=0, transactions=1), Promised(trx=0, usdt=4, transactions=1, energy=29_650)
    assert together == alone == [a, b, NOTHING_PROMISED, a, d]
    fees = Fees(memo=3, per_energy=100, staked_energy=650)  # staked energy is spent before TRX is burned
    assert a.trx_with_fees(fees) == 30 + 4 * 3 + (14_650 - 650) * 100
    assert a.trx_with_fees(fees, more_transactions=1, more_energy=1_000) == 30 + 5 * 3 + 15_000 * 100
    assert b.trx_with_fees(Fees(memo=3, per_energy=100, staked_energy=0)) == 5 + 3


async def test_wallet_reads_in_one_turn_answer_only_the_owner(store: Store) -> None:
    for wallet_id, owner, deleted in (
        ("w-mine", "me", False),
        ("w-theirs", "them", False),
        ("w-gone", "me", True),
    ):
        await store.insert_wallet(
            {"_id": wallet_id, "user_id": owner, "deleted": deleted, "address": wallet_id}
        )
    found = await asyncio.gather(
        store.wallet("me", "w-mine"),
        store.wallet("me", "w-theirs"),
        store.wallet("me", "w-gone"),
        store.wallet("me", "w-none"),
        store.wallet("them", "w-theirs"),
    )
    assert [w and w["_id"] for w in found] == ["w-mine", None, None, None, "w-theirs"]
