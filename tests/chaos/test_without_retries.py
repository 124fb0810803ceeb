"""Experiments 2 and 3 can fail: behind a VirtualService with no retries and no per-try timeout (only
the route timeout), the requests a hung pod took fail, and so do those a killed pod was serving (the
experiment keeps reads in flight on every pod when it kills one, so there always are some); each
deviates saying how many. About 2 minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack.processes import VIRTUAL_SERVICE
from tests.chaos.live import LiveStack, deviates, live_stack, variant_of

FAILED_SOME = "requests failed (5xx, or no answer within 30 s)"


def _no_retries(document: dict[str, Any]) -> None:
    for route in document["spec"]["http"]:
        route["retries"] = {"attempts": 0}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    routes = variant_of(VIRTUAL_SERVICE, tmp_path_factory.mktemp("no-retries"), _no_retries)
    yield from live_stack(tmp_path_factory.mktemp("chaos-no-retries"), virtual_service=routes)


def test_without_retries_the_hung_pods_requests_fail_and_the_experiment_says_so(
    stack: LiveStack, tmp_path: Path
) -> None:
    deviates(stack, "02-slow-upstream-pod", tmp_path, (FAILED_SOME,), ("expectation not met: 0 of",))


def test_without_retries_the_killed_pods_requests_fail_and_the_experiment_says_so(
    stack: LiveStack, tmp_path: Path
) -> None:
    deviates(stack, "03-one-pod-killed", tmp_path, (FAILED_SOME,), ("expectation not met: 0 of",))
