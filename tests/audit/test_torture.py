"""The short torture of `make test` (about 2.5 minutes): a whole local stack of its own, 3 pods behind
the mesh, fast blocks; every coverage counter above 0 and a clean audit.

Time scale: the pods sign transactions that live 10 s (TX_LIFETIME_SECONDS; 60 s by default, as
tronpy's) and the broadcast refusal lasts 30 s. An expiration answer needs a transaction whose every
send within its lifetime was refused: with 60 s that is about 7 sends in a row under the 85 % refusal,
and a run now and then had none (CI failed on `expiration_answers: 0`); with 10 s it is about 5. A lost
answer needs a send that got past the refusal while answers are being lost: the chaos goes on for 42 s
after the refusal (with a 70 s refusal, most sends got through after the chaos, and runs saw 2 to 6).
Two runs as it is now: expiration answers 15 and 13, lost answers 7 and 8.
"""

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

TX_LIFETIME_S = 10
REFUSAL_S = 30  # 3 lifetimes; the chaos goes on without it, so sends that get through meet lost answers


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackState]:
    run_dir: Path = tmp_path_factory.mktemp("torture-stack")
    options = topology.StackOptions(
        run_dir=run_dir, port=free_port(), block_interval=0.5, confirmations=2,
        service_env=(("TX_LIFETIME_SECONDS", str(TX_LIFETIME_S)),),
    )  # fmt: skip
    try:
        yield StackState.from_dict(topology.up(options, progress=lambda _line: None))
    finally:
        if topology.running(run_dir):
            topology.down(run_dir)


def test_a_short_torture_covers_every_case_and_the_ledger_stays_true(stack: StackState) -> None:
    settings = Settings(payouts=30, clients=6, seed=3, chaos_s=72, settle_s=120, refusal_s=REFUSAL_S)
    with Devnet(stack.url("devnet")) as devnet, Pods(stack.url("pods")) as pods:
        outcome = Torture(
            stack.service_url, LOCAL_SECRETS["JWT_SECRET"], pods, devnet, stack.usdt_contract, settings
        ).run()
    report = "\n".join(outcome.lines())
    assert outcome.refused == 0 and outcome.accepted >= settings.payouts * 0.8, report
    assert not outcome.findings, report
    assert outcome.coverage.missing() == [], report
    assert all(getattr(outcome.coverage, name) > 0 for name in Coverage.REQUIRED), report
    assert outcome.passed, report
