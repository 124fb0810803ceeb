"""`python -m loadtests.payout_store_benchmark`: each step of accepting a payout measured against the
stack's store, and the per-wallet reservation beside the reserved sum."""

from __future__ import annotations

import re

from tests.support.benchmark_run import run_benchmark

STEPS = (
    "idempotency claim (shared)",
    "wallet (shared)",
    "reserved sum (shared)",
    "operation insert (shared)",
    "idempotency finish (shared)",
    "reserve (conditional $inc)",
    "release when final ($inc back)",
)
NUMBER = r"\d+\.\d+"


def test_prints_each_steps_store_cost_and_the_reservation_against_the_sum() -> None:
    run = run_benchmark("loadtests.payout_store_benchmark", "--operations", "600", "--seconds", "0.3")
    assert run.returncode == 0, run.stderr
    for name in STEPS:  # each step answered against the real store: it waited a measurable time
        row = re.search(rf"^  {re.escape(name)}\s+({NUMBER})\s+({NUMBER})$", run.stdout, re.M)
        assert row, f"no row for {name}:\n{run.stdout}"
        assert float(row.group(2)) > 0, run.stdout
    total = re.search(rf"^  all five\s+({NUMBER})$", run.stdout, re.M)
    instead = re.search(
        rf"^  all five, reserving instead\s+({NUMBER})\s+(?:({NUMBER})x|-) ", run.stdout, re.M
    )
    assert total and instead, run.stdout
