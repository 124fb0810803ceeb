"""A real Redis outage (its process stopped): every pod stays ready, /health says degraded, and the
rate limits still bound a single user, each pod counting on its own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from harness.clients.api import Api
from harness.waiting import wait_for
from service.ratelimit import LIMITS_PER_MINUTE
from stack.local import Backends, start_backends
from stack.processes import Part
from tests.conftest import FAST_SERVICE
from tests.e2e.test_payouts import new_address


@pytest.fixture(scope="module")
def own_backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backends, list[Part]]]:
    """Backends of our own to break (the session's are shared), with two pods."""
    backends = start_backends(tmp_path_factory.mktemp("redis-outage"), block_interval=0.5, confirmations=2)
    try:
        yield backends, [backends.start_replica(f"outage-{i}", **FAST_SERVICE) for i in range(2)]
    finally:
        backends.stop()


@pytest.fixture
def redis_stopped(own_backends: tuple[Backends, list[Part]]) -> Iterator[list[Part]]:
    backends, pods = own_backends
    backends.redis.stop()
    try:
        for pod in pods:
            wait_for(
                lambda pod=pod: (
                    httpx.get(f"{pod.url}/health").json()["components"]["redis"]["status"] == "down"
                ),
                10,
                f"{pod.name} to see Redis gone",
            )
        yield pods
    finally:
        backends.redis.start()
        for pod in pods:
            wait_for(lambda pod=pod: httpx.get(f"{pod.url}/health").status_code == 200, 15, "Redis back")


def test_without_redis_every_pod_stays_ready_and_says_degraded(redis_stopped: list[Part]) -> None:
    for pod in redis_stopped:
        for probe in ("/health/ready", "/ready"):
            assert httpx.get(f"{pod.url}{probe}").status_code == 200, f"{pod.name}{probe}"
        health = httpx.get(f"{pod.url}/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded", health.text
        assert health.json()["components"]["database"]["status"] == "up"
        metrics = httpx.get(f"{pod.url}/metrics").text
        assert 'tron_payment_dependency_up{dependency="redis"} 0.0' in metrics
        assert 'tron_payment_dependency_up{dependency="database"} 1.0' in metrics


def test_without_redis_a_single_user_is_still_bounded_on_each_pod(
    own_backends: tuple[Backends, list[Part]], redis_stopped: list[Part]
) -> None:
    backends, _ = own_backends
    secret = backends.service_env()["JWT_SECRET"]
    limit = LIMITS_PER_MINUTE["staking"]
    path = f"/api/v1/staking/rewards/{new_address()}"
    user = Api(redis_stopped[0].url, secret, roles=("staking_manager",)).sub
    for pod in redis_stopped:
        # One window for the whole run: start well before the minute turns over (the count restarts then).
        wait_for(lambda: time.time() % 60 < 50, 15, "a fresh rate-limit window")
        client = Api(pod.url, secret, user, ("staking_manager",))
        answers = [client.get(path) for _ in range(limit + 5)]
        client.close()
        statuses = [a.status_code for a in answers]
        assert 429 not in statuses[:limit], f"{pod.name}: refused within the limit: {statuses}"
        assert set(statuses[limit:]) == {429}, f"{pod.name}: past the limit yet served: {statuses}"
        refused = answers[limit]
        assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["X-RateLimit-Limit"] == str(limit)
        assert refused.json()["error"]["code"] == "LUCID_ERR_9004"


def _component(pod: Part, name: str) -> str:
    return str(httpx.get(f"{pod.url}/health").json()["components"][name]["status"])
