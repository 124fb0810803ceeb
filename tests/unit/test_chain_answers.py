"""What the chain port makes of the node's answers, each driven by the devnet failing like java-tron."""

from __future__ import annotations

import pytest
from tronpy.keys import PrivateKey

from service.ports.chain import NodeError
from tests.e2e.test_payouts import new_address
from tests.unit.conftest import World


@pytest.mark.parametrize(
    ("fault", "verdict"),
    [
        ({"fault": "refuse", "code": "SERVER_BUSY"}, "transient"),
        ({"fault": "refuse", "code": "NOT_ENOUGH_EFFECTIVE_CONNECTION"}, "transient"),
        ({"fault": "refuse", "code": "BLOCK_UNSOLIDIFIED"}, "transient"),
        ({"fault": "internal_error"}, "unknown"),  # HTTP 200 {"Error": ...}: never a success
        ({"fault": "lose_answer", "mode": "drop"}, "unknown"),  # taken, but no answer came back
    ],
)
async def test_a_broadcast_under_a_node_fault_is_never_taken_for_a_final_answer(
    world: World, fault: dict[str, str], verdict: str
) -> None:
    signed = await _signed_transfer(world)
    world.devnet.control("faults", {**fault, "share": 1.0, "ttl_s": 30})
    assert (await world.ports.chain.broadcast(signed)).verdict == verdict
    world.devnet.reset()
    assert (await world.ports.chain.broadcast(signed)).verdict == "accepted", "the same tx, sent again"


async def test_a_resend_of_a_landed_tx_to_a_node_that_forgot_it_is_stale_not_refused(world: World) -> None:
    signed = await _signed_transfer(world)
    assert (await world.ports.chain.broadcast(signed)).accepted
    world.wait_head_past(signed["raw_data"]["expiration"] + 1000)
    world.devnet.control("forget-broadcasts", {})
    resent = await world.ports.chain.broadcast(signed)
    assert resent.verdict == "stale" and "TRANSACTION_EXPIRATION_ERROR" in resent.reason
    assert await world.ports.chain.included_in(signed["txID"]) is not None, "yet it is in a block"


async def test_receipts_count_only_for_the_asked_tx_in_a_block_and_error_bodies_raise(world: World) -> None:
    signed = await _signed_transfer(world)
    assert await world.ports.chain.outcome(signed["txID"]) is None, "not sent: no receipt"
    assert await world.ports.chain.included_in(signed["txID"]) is None
    world.devnet.control("faults", {"fault": "internal_error", "share": 1.0, "ttl_s": 30})
    with pytest.raises(NodeError):
        await world.ports.chain.outcome(signed["txID"])


async def _signed_transfer(world: World) -> dict[str, object]:
    """Out of a key of the test's own, not a service wallet: no operation records these sends."""
    key = PrivateKey.random()
    world.devnet.fund(key.public_key.to_base58check_address(), 2_000_000)
    return await world.ports.chain.sign_transfer(key, new_address(), 1_000_000, "TRX")
