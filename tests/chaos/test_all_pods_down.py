"""Experiment 4 on a local stack of its own: a killed pod's replacement comes back under a new name,
and Prometheus keeps its old `up` series for up to 5 minutes (no staleness marker here), which hides
`max by (job) (up) == 0` from the service-down alert; so this experiment does not share a stack with
the ones that kill pods. About 1.5 minutes (each outage held 10 and 20 s)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.live import LiveStack, live_stack, run_to_end

EXPERIMENT = "04-all-pods-down"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    yield from live_stack(tmp_path_factory.mktemp("chaos-all-pods-down"))


def test_the_service_down_alert_fires_in_time_and_the_recovery_is_measured(
    stack: LiveStack, tmp_path: Path
) -> None:
    done = run_to_end(stack, EXPERIMENT, tmp_path)
    assert done.code == 0, done
    assert f"{EXPERIMENT}: held" in done.stdout
    assert "held: TronPaymentServiceDown fired" in done.stdout and "local rules" in done.stdout
    assert "held: all 3 pods ready again" in done.stdout
    assert "fault: every pod hung (SIGSTOP)" in done.stderr
