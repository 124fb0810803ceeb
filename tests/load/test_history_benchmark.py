"""`python -m loadtests.history_benchmark`: the ledger's aggregations as a wallet's history grows,
each as the service sends it and as it was sent before, with one answer between them."""

from __future__ import annotations

import re

from loadtests.history_benchmark import QUERIES
from tests.support.benchmark_run import run_benchmark

NUMBER = r"\d+(?:\.\d+)?"
COST = rf"{NUMBER} \(\s*{NUMBER}\)"  # store CPU ms (round trip ms)


def test_prints_each_querys_cost_both_ways_at_each_history_and_the_answers_agree() -> None:
    run = run_benchmark("loadtests.history_benchmark", "--history", "0,300", "--seconds", "0.1")
    assert run.returncode == 0, run.stdout + run.stderr  # 1 when the two forms answer differently
    assert "DIFFERENT ANSWERS" not in run.stdout
    sections = re.split(r"\n  (?=\S)", run.stdout)  # a query's name, then its rows, indented further
    for name, _, _ in QUERIES:
        section = next((s for s in sections if s.startswith(name)), None)
        assert section is not None, f"no section for {name}:\n{run.stdout}"
        for size in ("0", "300"):
            row = rf"^\s+{size} finished\s+{COST} \|\s+{COST} \|\s+(?:{NUMBER}x|-)$"
            assert re.search(row, section, re.M), f"no row for {name} at {size}:\n{run.stdout}"
