"""Experiment 2 can fail: behind a VirtualService with no retries and no per-try timeout (only the
route timeout), the requests a hung pod took wait until the route or client timeout and fail; the
experiment deviates saying how many. About 1.5 minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack.processes import VIRTUAL_SERVICE
from tests.chaos.live import LiveStack, live_stack, run_to_end, variant_of

EXPERIMENT = "02-slow-upstream-pod"


def _no_retries(document: dict[str, Any]) -> None:
    for route in document["spec"]["http"]:
        route["retries"] = {"attempts": 0}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    routes = variant_of(VIRTUAL_SERVICE, tmp_path_factory.mktemp("no-retries"), _no_retries)
    yield from live_stack(tmp_path_factory.mktemp("chaos-slow-pod-variant"), virtual_service=routes)


def test_without_retries_the_hung_pods_requests_fail_and_the_experiment_says_so(
    stack: LiveStack, tmp_path: Path
) -> None:
    done = run_to_end(stack, EXPERIMENT, tmp_path)
    assert done.code == 1, done
    assert f"{EXPERIMENT}: deviated" in done.stdout
    assert "expectation not met: 0 of" not in done.stdout
    assert "retryable requests failed (5xx, or no answer within 30 s)" in done.stdout
    assert "expectation not met: the mesh retried 0 requests" in done.stdout
