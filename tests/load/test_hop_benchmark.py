"""`python -m loadtests.hop_benchmark`: a round trip to Redis and to the store, the client on the
server's CPU and on the other one, side by side."""

from __future__ import annotations

import os
import re

import pytest

from tests.support.benchmark_run import run_benchmark

NUMBER = r"\d+\.\d+"
HALF_DIGIT = 0.0005  # the times are printed in ms with 3 decimals
two_cpus = pytest.mark.skipif(
    (os.cpu_count() or 1) < 2,
    reason="needs two CPUs: it compares a round trip within one CPU with one across two",
)


@two_cpus
def test_prints_each_servers_round_trip_on_both_placements_and_the_ratio() -> None:
    run = run_benchmark("loadtests.hop_benchmark", "--round-trips", "50", "--rounds", "1")
    assert run.returncode == 0, run.stderr
    assert re.search(r"^this machine: cpuidle driver \S+", run.stdout, re.M), run.stdout
    for server in ("redis PING", "store ping"):
        for figure in ("p50", "p90", "p99", "mean"):  # both placements answered: each took a measurable time
            row = re.search(
                rf"^  {server}\s+{figure}\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})x$", run.stdout, re.M
            )
            assert row, f"no {figure} row for {server}:\n{run.stdout}"
            same, other, ratio = (float(group) for group in row.groups())
            assert same > 0 and other > 0, run.stdout
            # The ratio is of the unrounded times: it lies within what the printed ones (3 decimals,
            # so +-0.0005 ms: at 0.044 ms that is 1 %) allow, give or take its own last digit.
            low, high = (other - HALF_DIGIT) / (same + HALF_DIGIT), (other + HALF_DIGIT) / (same - HALF_DIGIT)
            assert low - 0.005 <= ratio <= high + 0.005, run.stdout


@two_cpus
def test_bad_counts_are_refused_with_what_to_fix() -> None:
    run = run_benchmark("loadtests.hop_benchmark", "--rounds", "0")
    assert run.returncode == 2
    assert "--round-trips and --rounds must be at least 1" in run.stderr
    assert "round" not in run.stdout, "nothing was started or measured"
