"""The ledger is read page by page while traffic inserts operations, so a read can miss one; the
audit reads the ledger again before it calls a chain transaction unknown, and only what neither read
holds is reported."""

from __future__ import annotations

import time

from harness.audit.chain import TronGrid
from harness.audit.findings import UNKNOWN_TO_LEDGER
from harness.audit.ledger import LedgerSide
from harness.audit.run import audit_sides
from tests.unit.conftest import World, ledger_side


async def test_a_transaction_whose_operation_one_read_missed_is_not_unknown(world: World) -> None:
    since = int(time.time() * 1000)
    processor, _wallet, op = await world.new_payout(amount=1_000_000, funded=10_000_000)
    done = await world.run(processor, op, ("completed", "failed"))
    assert done["status"] == "completed", done
    world.wait_head_past(int(time.time() * 1000))
    full = await ledger_side(world.ports.store)
    # The first read as paging under traffic can leave it: the operation fell on a page already read.
    skipped = LedgerSide(tuple(o for o in full.operations if o.operation_id != op["_id"]), full.wallets)
    with TronGrid(world.devnet.url, world.usdt_contract) as grid:
        once = audit_sides(skipped, grid, since_ms=since, stuck_after_ms=0)
        again = audit_sides(skipped, grid, since_ms=since, stuck_after_ms=0, reread=lambda: full)
        missing_twice = audit_sides(skipped, grid, since_ms=since, stuck_after_ms=0, reread=lambda: skipped)
    assert [f.tx_ids for f in once.findings if f.kind == UNKNOWN_TO_LEDGER] == [(done["tx_id"],)]
    assert again.findings == [], again.findings
    assert [f.tx_ids for f in missing_twice.findings if f.kind == UNKNOWN_TO_LEDGER] == [(done["tx_id"],)]
