"""Istio checks: the seed's VirtualService and DestinationRule (fixtures/seed) have every mistake;
deploy/istio has them fixed (clean: test_project_is_clean.py); copies of deploy/ break one at a time."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from harness.lint.findings import Finding
from tests.lint.helpers import SEED, broken_deploy, caught, of, route, run


@cache
def seed() -> list[Finding]:
    return run(SEED / "virtual-service.yaml").findings


def test_deprecated_api_versions_and_fields_are_caught() -> None:
    assert len([f for f in of(seed(), "istio-deprecated") if "apiVersion" in f.message]) == 2
    assert (
        caught(seed(), "istio-deprecated", "outlierDetection.consecutiveErrors", "consecutive5xxErrors").line
        == 113
    )


def test_unknown_fields_are_schema_findings() -> None:
    caught(seed(), "schema", "circuitBreaker")


def test_a_fault_left_in_a_route_is_caught(tmp_path: Path) -> None:
    assert caught(seed(), "istio-fault", "http[0]").line == 26

    def fault(vs: dict[str, Any]) -> None:
        route(vs, "tron-retryable")["fault"] = {"abort": {"percentage": {"value": 0.1}, "httpStatus": 500}}

    caught(broken_deploy(tmp_path, "VirtualService", fault), "istio-fault", "tron-retryable")


def test_the_seeds_retries_on_every_post_are_caught() -> None:
    assert len(of(seed(), "istio-retries")) == 6  # every route of the seed retries POSTs


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("payments", lambda r: r.update(retries={"attempts": 3, "perTryTimeout": "25s"})),
        ("usdt", lambda r: r.pop("retries")),  # no `retries`: Istio's default retries
        (
            "default",
            lambda r: r.update(retries={"attempts": 3, "perTryTimeout": "5s"}),
        ),  # a catch-all admits POST
        ("wallets-retryable", lambda r: r["match"][0].update(method={"regex": "GET|HEAD|PUT|DELETE|POST"})),
    ],
)
def test_retrying_a_post_without_idempotency_key_is_caught(tmp_path: Path, name: str, change: Any) -> None:
    findings = broken_deploy(tmp_path, "VirtualService", lambda vs: change(route(vs, name)))
    caught(findings, "istio-retries", f"route {name} ", "attempts: 0")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda vs: route(vs, "wallets").pop("timeout"), ("wallets", "no timeout")),
        (lambda vs: route(vs, "payouts-retryable").update(timeout="60s"), ("payouts-retryable", "120s")),
        (
            lambda vs: route(vs, "usdt-retryable")["retries"].update(attempts=2),
            ("usdt-retryable", "attempts 2"),
        ),
        (
            lambda vs: vs["spec"].update(
                http=[r for r in vs["spec"]["http"] if not r["name"].startswith("staking")]
            ),
            ("no route for /api/v1/staking",),
        ),
    ],
)
def test_the_services_route_mistakes_are_caught(
    tmp_path: Path, change: Any, expected: tuple[str, ...]
) -> None:
    caught(broken_deploy(tmp_path, "VirtualService", change), "istio-routes", *expected)


def test_connection_pools_that_defeat_keep_alive_or_cap_retries_are_caught(tmp_path: Path) -> None:
    caught(seed(), "istio-connection-pool", "maxRequestsPerConnection 2", "keep-alive")
    caught(seed(), "istio-connection-pool", "maxRetries 3", "whole cluster")

    def per_subset(dr: dict[str, Any]) -> None:
        dr["spec"]["subsets"][0]["trafficPolicy"] = {
            "connectionPool": {"http": {"maxRequestsPerConnection": 1}}
        }

    found = caught(
        broken_deploy(tmp_path, "DestinationRule", per_subset), "istio-connection-pool", "every 1 request"
    )
    assert found.line > 1
