"""The audit catches the bug it exists for: a worker that signs a second transaction while the first
can still land (the re-sign check removed) pays twice, and the audit says so."""

from __future__ import annotations

import time

import pytest

from harness.audit.chain import TronGrid
from harness.audit.findings import PAID_TWICE
from harness.audit.run import audit_sides
from tests.unit.conftest import World, ledger_side


@pytest.mark.audit_expects(PAID_TWICE)
async def test_a_worker_that_re_signs_without_asking_the_chain_pays_twice_and_the_audit_reports_it(
    world: World,
) -> None:
    since = int(time.time() * 1000) - 1000
    processor, _wallet, op = await world.new_payout(amount=1_000_000, funded=10_000_000)
    sent = await processor.step(await processor._sign(op))
    assert sent["stage"] == "broadcast", sent
    # The bug put back: give the first transaction up without the chain's proof that it cannot land.
    resigned = await processor._resign(sent, "TEST: the re-sign check removed")
    done = await world.run(processor, resigned, ("completed", "failed"))
    assert done["status"] == "completed" and done["replaced_tx_ids"] == [sent["tx_id"]], done
    world.wait_head_past(int(time.time() * 1000))  # both transactions are in blocks by now
    with TronGrid(world.devnet.url, world.usdt_contract) as grid:
        report = audit_sides(await ledger_side(world.ports.store), grid, since_ms=since, stuck_after_ms=0)
    twice = [f for f in report.findings if f.kind == PAID_TWICE]
    assert [(f.operation_id, set(f.tx_ids)) for f in twice] == [
        (op["_id"], {sent["tx_id"], done["tx_id"]})
    ], report.findings
