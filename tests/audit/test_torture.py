"""The short torture of `make test` (about 2.5 minutes: the broadcast refusals must outlast a
transaction's 60 s lifetime to provoke expiration answers): a whole local stack of its own, 3 pods
behind the mesh, fast blocks; every coverage counter above 0 and a clean audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.audit.torture import Coverage, Settings, Torture
from harness.clients.devnet import Devnet
from harness.clients.pods import Pods
from harness.target import StackState
from stack import topology
from stack.local import LOCAL_SECRETS
from stack.processes import free_port


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackState]:
    run_dir: Path = tmp_path_factory.mktemp("torture-stack")
    options = topology.StackOptions(run_dir=run_dir, port=free_port(), block_interval=0.5, confirmations=2)
    try:
        yield StackState.from_dict(topology.up(options, progress=lambda _line: None))
    finally:
        if topology.running(run_dir):
            topology.down(run_dir)


def test_a_short_torture_covers_every_case_and_the_ledger_stays_true(stack: StackState) -> None:
    settings = Settings(payouts=30, clients=6, seed=3, chaos_s=72, settle_s=120)
    with Devnet(stack.url("devnet")) as devnet, Pods(stack.url("pods")) as pods:
        outcome = Torture(
            stack.service_url, LOCAL_SECRETS["JWT_SECRET"], pods, devnet, stack.usdt_contract, settings
        ).run()
    report = "\n".join(outcome.lines())
    assert outcome.accepted == settings.payouts and outcome.refused == outcome.gave_up == 0, report
    assert not outcome.findings, report
    assert outcome.coverage.missing() == [], report
    assert all(getattr(outcome.coverage, name) > 0 for name in Coverage.REQUIRED), report
    assert outcome.passed, report
