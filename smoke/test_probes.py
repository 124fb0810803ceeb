"""Probes, metrics and the OpenAPI document: no token needed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest

from smoke import expect
from smoke.client import SmokeClient
from smoke.contract import HEALTH_COMPONENTS, METRICS, OPERATIONS
from smoke.openapi import Document, operation_key


def test_liveness(client: SmokeClient) -> None:
    expect.status(client.get("/health/live"), 200)


@pytest.mark.parametrize("path", ["/health/ready", "/ready"])
def test_readiness(client: SmokeClient, path: str) -> None:
    expect.status(client.get(path), 200)


def test_health_components(client: SmokeClient) -> None:
    response = client.get("/health")
    expect.status(response, 200)
    components = expect.json_object(response).get("components")
    if not isinstance(components, dict):
        expect.fail(f"{expect.label(response)} reports no components")
    missing = [name for name in HEALTH_COMPONENTS if not isinstance(components.get(name), dict)]
    if missing:
        expect.fail(f"{expect.label(response)} reports no {', '.join(missing)} component")
    down = [name for name in HEALTH_COMPONENTS if components[name].get("status") != "up"]
    if down:
        expect.fail(f"{expect.label(response)} answered 200 with {', '.join(down)} not up")


def test_metrics_contract(client: SmokeClient) -> None:
    response = client.get("/metrics")
    expect.status(response, 200)
    # A counter never incremented has no samples yet, but it has its TYPE line.
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", response.text, re.MULTILINE))
    missing, mistyped = [], []
    for name, kind in METRICS.items():
        # Text format 0.0.4 types a counter as `x_total`; OpenMetrics as `x`: both expose `x_total`.
        found = types.get(name) or types.get(name.removesuffix("_total") if kind == "counter" else name)
        if found is None:
            missing.append(name)
        elif found != kind:
            mistyped.append(f"{name} is a {found}, not a {kind}")
    if missing or mistyped:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + mistyped
        expect.fail(f"GET /metrics breaks the metrics contract: {'; '.join(problems)}")


def test_openapi_document(openapi: Callable[[], Document]) -> None:
    document = openapi()
    if document.problem:
        expect.fail(document.problem)
    missing = sorted({operation_key(*op.split(" ", 1)) for op in OPERATIONS} - document.operations())
    if missing:
        expect.fail(f"the OpenAPI document lacks {len(missing)} contract operations: {', '.join(missing)}")


def test_request_id_echoed(client: SmokeClient) -> None:
    sent = f"smoke-{uuid.uuid4().hex}"
    response = client.get("/health/live", headers={"X-Request-ID": sent})
    echoed = response.headers.get("X-Request-ID")
    if echoed != sent:
        expect.fail(f"{expect.label(response)} answered X-Request-ID {echoed!r} to {sent!r}")
