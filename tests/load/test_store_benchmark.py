"""`python -m loadtests.store_benchmark`: both ways of serving the store measured, side by side."""

from __future__ import annotations

import re

from tests.support.benchmark_run import run_benchmark

COMMANDS = ("ping", "find by _id", "reserved sum", "insert", "update")
NUMBER = r"\d+(?:\.\d+)?"
ROW = rf"\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s+(?:({NUMBER})x|-)$"


def test_prints_each_commands_cost_from_both_servers_and_the_ratios() -> None:
    small = ["--operations", "300", "--seconds", "0.3", "--clients", "2"]
    run = run_benchmark("loadtests.store_benchmark", *small)
    assert run.returncode == 0, run.stderr
    for name in COMMANDS:  # a row of figures for each command: each server answered every one
        assert re.search(rf"^  {re.escape(name)}{ROW}", run.stdout, re.M), f"no row for {name}:\n{run.stdout}"
    together = re.search(rf"^  {ROW}", run.stdout, re.M)
    assert together, run.stdout
    assert float(together.group(1)) > 0 and float(together.group(3)) > 0, run.stdout
