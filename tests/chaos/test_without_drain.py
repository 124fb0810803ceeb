"""Experiment 5 can fail: pods started without a drain period (DRAIN_SECONDS 0) close their listener
at SIGTERM while the mesh still routes to them, and the wallet creations (POSTs without a key, which
the mesh never retries) fail; the experiment deviates saying how many. About 1 minute."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.live import LiveStack, live_stack, run_to_end

EXPERIMENT = "05-rolling-sigterm"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    yield from live_stack(tmp_path_factory.mktemp("chaos-no-drain"), service_env=(("DRAIN_SECONDS", "0"),))


def test_without_a_drain_period_unretried_posts_fail_and_the_experiment_says_so(
    stack: LiveStack, tmp_path: Path
) -> None:
    done = run_to_end(stack, EXPERIMENT, tmp_path)
    assert done.code == 1, done
    assert f"{EXPERIMENT}: deviated" in done.stdout
    assert "requests failed (5xx, or no answer within 30 s)" in done.stdout and "unkeyed POSTs" in done.stdout
    assert "expectation not met: 0 of" not in done.stdout
