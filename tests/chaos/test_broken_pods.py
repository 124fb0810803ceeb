"""Experiments 5, 6 and 7 can fail, on one stack whose pods are broken two ways: started without a drain
period (DRAIN_SECONDS 0: they close their listener at SIGTERM while the mesh still routes to them, so
unkeyed POSTs, which the mesh never retries, fail), and with the deep `/health` as liveness probe (a
TRON node outage or a hung Redis fails it, and the supervisor restarts every pod for a dependency's
fault). Each experiment deviates saying why. About 3.5 minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stack.processes import DEPLOYMENT
from tests.chaos.live import LiveStack, deviates, live_stack, variant_of

FAILED = "requests failed (5xx, or no answer within 30 s)"


def _deep_liveness(document: dict[str, Any]) -> None:
    container = document["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"]["httpGet"]["path"] = "/health"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    deployment = variant_of(DEPLOYMENT, tmp_path_factory.mktemp("deep-liveness"), _deep_liveness)
    yield from live_stack(
        tmp_path_factory.mktemp("chaos-broken-pods"),
        deployment=deployment,
        service_env=(("DRAIN_SECONDS", "0"),),
    )


def test_without_a_drain_period_unretried_posts_fail_and_the_experiment_says_so(
    stack: LiveStack, tmp_path: Path
) -> None:
    deviates(stack, "05-rolling-sigterm", tmp_path, (FAILED, "unkeyed POSTs"), ("expectation not met: 0 of",))


def test_with_a_deep_liveness_probe_a_node_outage_restarts_pods_and_the_experiment_says_so(
    stack: LiveStack, tmp_path: Path
) -> None:
    deviates(
        stack, "06-tron-node-faults", tmp_path, ("pod restarts during the run",), ("not met: 0 pod restarts",)
    )


def test_with_a_deep_liveness_probe_a_hung_redis_restarts_pods_and_the_experiment_says_so(
    stack: LiveStack, tmp_path: Path
) -> None:
    deviates(stack, "07-redis-down", tmp_path, ("pod restarts during the run",), ("not met: 0 pod restarts",))
