"""The audit catches the bug it exists for: a worker that signs a second transaction while the first
can still land (the re-sign check removed) pays twice, and the audit says so: in process (the worker
made to re-sign) and as a process (a replica started from a patched copy of service/)."""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.audit.chain import TronGrid
from harness.audit.findings import PAID_TWICE
from harness.audit.run import audit_sides
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.objectives import REPO
from stack.local import Backends
from stack.processes import Part, free_port, http_ok
from tests.audit.test_audit import payout, run_audit
from tests.conftest import FAST_SERVICE
from tests.unit.conftest import World, ledger_side


@pytest.mark.audit_expects(PAID_TWICE)
async def test_a_worker_that_re_signs_without_asking_the_chain_pays_twice_and_the_audit_reports_it(
    world: World,
) -> None:
    since = int(time.time() * 1000)
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


@pytest.fixture
def buggy_replica(backends: Backends, tmp_path: Path) -> Iterator[Part]:
    """A replica started from a copy of service/ with the re-sign check removed: it gives a
    transaction up for a new one whenever the chain does not show it yet."""
    copy = tmp_path / "buggy"
    shutil.copytree(REPO / "service", copy / "service")
    operations = copy / "service" / "operations.py"
    check = '        """True only when the chain proves the stored transaction can never be in a block."""\n'
    source = operations.read_text()
    assert check in source, "the re-sign check moved: update this test's patch"
    operations.write_text(source.replace(check, check + "        return True  # THE BUG, PUT BACK\n"))
    port = free_port()
    boot = (
        f"import runpy, sys; sys.path.insert(0, {str(copy)!r}); "
        "runpy.run_module('service', run_name='__main__')"
    )
    replica = Part(
        "svc-buggy",
        [sys.executable, "-c", boot],
        backends.run_dir / "logs" / "svc-buggy.log",
        lambda: http_ok(f"http://127.0.0.1:{port}/health/ready"),
        # A database of its own: no sound replica of the session may take its payouts over.
        env={
            **backends.service_env(**FAST_SERVICE, MONGODB_DB=f"buggy_{uuid.uuid4().hex[:8]}"),
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "POD_NAME": "buggy",
        },
        url=f"http://127.0.0.1:{port}",
    ).start(timeout=60)
    try:
        yield replica
    finally:
        replica.stop()


def test_the_audit_reports_the_double_payout_of_a_service_with_the_bug_put_back(
    buggy_replica: Part, backends: Backends, devnet: Devnet
) -> None:
    since = int(time.time() * 1000)
    manager = Api(buggy_replica.url, backends.service_env()["JWT_SECRET"], roles=("payout_manager",))
    wallet = manager.wallet("TRX")
    # Every re-sign while the node lags pays again (1 TRX, the 1 TRX memo fee, bandwidth): funds for
    # many, so the wallet does not run dry and leave the payout retrying instead of final.
    devnet.fund(wallet["address"], 200_000_000)
    # A lagging node does not show the transaction yet: the real worker waits; the buggy one re-signs.
    devnet.set_fault("lag", 20, seconds=3)
    try:
        payout_id = payout(manager, wallet, "1")["payout_id"]
        manager.wait_status(f"/api/v1/payouts/{payout_id}", ("completed", "failed"), timeout=60)
    finally:
        devnet.reset()
    report = run_audit(backends, buggy_replica, since, stuck_after_ms=0, settle_s=30)
    twice = [f for f in report.findings if f.kind == PAID_TWICE]
    assert [f.operation_id for f in twice] == [payout_id], report.findings
    assert len(twice[0].tx_ids) >= 2, twice
