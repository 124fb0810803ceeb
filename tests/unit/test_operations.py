"""The operation state machine: at most one transaction on chain per operation, whatever happens."""

from __future__ import annotations

import asyncio

import pytest

from service.clock import now_ms
from service.operations import MAX_SIGN_ATTEMPTS, Safety
from service.ports.store import NOTHING_PROMISED
from tests.e2e.test_payouts import new_address, trx_balance
from tests.unit.conftest import World


async def test_a_payout_completes_once_its_block_is_solidified(world: World) -> None:
    processor = world.processor()
    wallet = await world.wallet(funded=5_000_000)
    recipient = new_address()
    op = await world.payout(processor, wallet, recipient, 2_000_000)
    op = await world.run(processor, op, ("completed",))
    solid = world.devnet.node("walletsolidity/getnowblock", {})["block_header"]["raw_data"]["number"]
    assert op["block_height"] <= solid, "completed means the block is solidified"
    world.assert_only_on_chain(wallet, op["tx_id"])
    assert trx_balance(world.devnet, recipient) == 2_000_000


async def test_a_replica_that_crashed_after_broadcast_is_followed_by_one_that_asks_the_chain_first(
    world: World,
) -> None:
    first, wallet, op = await world.new_payout()
    sent = await first.step(op)
    assert sent["stage"] == "broadcast", sent
    # The crash: the answer was never recorded, so the store still says `signed`, lease run out.
    await world.ports.store.transition(op["_id"], {}, {"stage": "signed", "lease_until": 0})
    world.wait_head_past(sent["expires_at"] + 2000)  # a re-send would now answer expired

    successor, taken = await world.take_over(op)
    done = await world.run(successor, taken, ("completed", "failed"))
    assert done["status"] == "completed" and done["tx_id"] == sent["tx_id"], done
    assert done["replaced_tx_ids"] == []
    world.assert_only_on_chain(wallet, sent["tx_id"])


async def test_a_tx_that_never_reached_the_node_is_replaced_once_after_the_node_passes_its_expiration(
    world: World,
) -> None:
    first = world.processor()
    wallet = await world.wallet(funded=5_000_000)
    recipient = new_address()
    op = await world.payout(first, wallet, recipient, 1_000_000)
    # Signed and stored, counted as sent, but the send never reached the node; then the crash.
    signed = await first._sign(op)
    assert signed["stage"] == "signed", signed
    lost = await world.ports.store.transition(op["_id"], {}, {"broadcast_attempts": 1, "lease_until": 0})
    assert lost is not None
    world.wait_head_past(lost["expires_at"] + 2000)

    successor, taken = await world.take_over(op)
    done = await world.run(successor, taken, ("completed", "failed"))
    assert done["status"] == "completed", done
    assert done["replaced_tx_ids"] == [lost["tx_id"]], "re-signed exactly once"
    world.assert_only_on_chain(wallet, done["tx_id"])
    assert trx_balance(world.devnet, recipient) == 1_000_000


async def test_a_stored_transaction_is_not_replaced_while_the_node_head_is_before_its_expiration(
    world: World,
) -> None:
    processor, _, op = await world.new_payout()
    world.devnet.control("stall", {"stalled": True})  # no blocks: the node's head time stands still
    try:
        sent = await processor.step(op)
        assert sent["stage"] == "broadcast"
        # Long past the expiration by the local clock, never by the node's head.
        await asyncio.sleep((sent["expires_at"] - world.head_time()) / 1000 + 2)
        again = await processor.step(await world.ports.store.operation(op["_id"]) or sent)
        assert again["tx_id"] == sent["tx_id"] and again["status"] == "processing", again
        assert again["replaced_tx_ids"] == []
    finally:
        world.devnet.control("stall", {"stalled": False})
    await world.run(processor, again, ("completed", "failed"))


async def test_a_first_send_refused_after_validation_fails_the_operation_and_releases_its_funds(
    world: World,
) -> None:
    processor = world.processor()
    wallet = await world.wallet(funded=1_000_000)
    op = await world.payout(processor, wallet, new_address(), 3_000_000)  # more than it holds
    done = await processor.step(op)
    assert done["status"] == "failed", done
    assert "CONTRACT_VALIDATE_ERROR" in done["failure_reason"]
    assert await world.ports.store.promised(wallet["address"]) == NOTHING_PROMISED


async def test_failures_before_signing_are_bounded_then_final_with_the_reason(world: World) -> None:
    processor = world.processor()
    wallet = await world.wallet(funded=1_000_000)
    await world.ports.store.wallets.update_one({"_id": wallet["_id"]}, {"$set": {"encrypted_key": "00" * 40}})
    op = await world.payout(processor, wallet, new_address(), 500_000)
    for _ in range(MAX_SIGN_ATTEMPTS):
        op = await processor.step(op)
    assert op["status"] == "failed", op
    assert op["tx_id"] is None and "could not sign" in op["failure_reason"]
    assert f"after {MAX_SIGN_ATTEMPTS} attempts" in op["failure_reason"]
    assert await world.ports.store.promised(wallet["address"]) == NOTHING_PROMISED


async def test_transient_refusals_are_retried_with_growing_backoff_never_final(world: World) -> None:
    processor, _, op = await world.new_payout()
    delays = []
    for code in ("SERVER_BUSY", "NOT_ENOUGH_EFFECTIVE_CONNECTION", "BLOCK_UNSOLIDIFIED"):
        world.fault("refuse", code=code, share=1.0)
        before = now_ms()
        op = await processor.step(await world.due(op))
        assert op["status"] == "processing" and op["stage"] == "signed", op
        assert code in op["last_error"]
        delays.append(op["next_check_at"] - before)
    assert delays == sorted(delays) and delays[-1] > delays[0], f"backoff grows: {delays}"
    world.devnet.reset()
    first_tx = op["tx_id"]
    done = await world.run(processor, op, ("completed", "failed"))
    assert done["status"] == "completed" and done["tx_id"] == first_tx, done
    assert done["replaced_tx_ids"] == []


async def test_an_error_body_from_the_node_is_never_a_success_nor_final(world: World) -> None:
    processor, _, op = await world.new_payout()
    op = await processor._sign(op)
    world.fault("internal_error", share=1.0)  # HTTP 200 {"Error": ...} to every call
    for _ in range(3):
        op = await processor.step(await world.due(op))
        assert op["status"] == "processing" and op["stage"] == "signed", op
    assert "node error" in op["last_error"] or "full node error" in op["last_error"]
    world.devnet.reset()
    done = await world.run(processor, op, ("completed", "failed"))
    assert done["status"] == "completed" and done["replaced_tx_ids"] == [], done


async def test_an_answer_lost_after_the_node_took_it_is_followed_by_the_same_tx(
    world: World,
) -> None:
    processor, wallet, op = await world.new_payout()
    world.fault("lose_answer", mode="drop", share=1.0)
    lost = await processor.step(op)
    assert lost["status"] == "processing" and lost["stage"] == "signed", lost
    world.devnet.reset()
    done = await world.run(processor, lost, ("completed", "failed"))
    assert done["status"] == "completed" and done["tx_id"] == lost["tx_id"], done
    world.assert_only_on_chain(wallet, lost["tx_id"])


@pytest.mark.audit_expects("fee_burned_on_revert")  # the fault burns the fee on purpose
async def test_a_trc20_transfer_that_reverts_on_chain_fails_with_the_reason_and_moves_nothing(
    world: World,
) -> None:
    processor = world.processor()
    wallet = await world.wallet(funded=20_000_000)
    world.devnet.fund(wallet["address"], 5_000_000, "USDT")
    recipient = new_address()
    world.fault("revert_trc20", reason="OUT_OF_ENERGY", share=1.0)
    op = await world.payout(processor, wallet, recipient, 2_000_000, currency="USDT")
    done = await world.run(processor, op, ("completed", "failed"))
    assert done["status"] == "failed" and done["failure_reason"].startswith("failed on chain"), done
    assert done["replaced_tx_ids"] == [], "a transaction that landed and failed is never replaced"
    assert await world.ports.store.promised(wallet["address"]) == NOTHING_PROMISED


async def test_nothing_is_replaced_while_the_node_lags_even_past_the_expiration(world: World) -> None:
    processor = world.processor(safety=Safety(resign_margin_ms=1000, max_node_lag_ms=5000))
    wallet = await world.wallet(funded=5_000_000)
    op = await processor._sign(await world.payout(processor, wallet, new_address(), 1_000_000))
    lost = await world.ports.store.transition(op["_id"], {}, {"broadcast_attempts": 1})
    assert lost is not None
    world.wait_head_past(lost["expires_at"] + 12_000)
    # Even the node's lagging head is past the expiration and its margin; but it is 10 s old, over
    # the 5 s allowed: a node that far behind is not trusted to show what can still land.
    world.fault("lag", seconds=10)
    for _ in range(3):
        waiting = await processor.step(await world.due(lost))
        assert waiting["tx_id"] == lost["tx_id"] and waiting["replaced_tx_ids"] == [], waiting
    world.devnet.reset()
    done = await world.run(processor, waiting, ("completed", "failed"))
    assert done["status"] == "completed" and done["replaced_tx_ids"] == [lost["tx_id"]], done
