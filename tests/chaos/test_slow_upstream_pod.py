"""Experiment 2 on a local stack of its own: one pod hung, every read still answered through the
mesh's per-try timeouts and retries. About 1 minute (the fault held 20 s; the per-try timeout 10 s)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.live import LiveStack, live_stack, run_to_end

EXPERIMENT = "02-slow-upstream-pod"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    yield from live_stack(tmp_path_factory.mktemp("chaos-slow-pod"))


def test_a_hung_pod_costs_no_read(stack: LiveStack, tmp_path: Path) -> None:
    done = run_to_end(stack, EXPERIMENT, tmp_path)
    assert done.code == 0, done
    assert f"{EXPERIMENT}: held" in done.stdout
    assert "held: 0 of" in done.stdout and "the mesh retried" in done.stdout
    assert "fault: pod tron-payment-service-" in done.stderr and "hung (SIGSTOP)" in done.stderr
