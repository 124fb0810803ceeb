"""Probes: /health (deep, for humans and dashboards), /health/live, /health/ready and /ready."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Blueprint, Response, jsonify

from service import VERSION, metrics
from service.clock import now_ms
from service.metrics import REGISTRY
from service.operations import KINDS
from service.runtime import runtime

bp = Blueprint("health", __name__)
PROBE_TIMEOUT_SECONDS = 2.0
# How long a scrape waits for a fresh view of the node: well under the shortest scrape timeout (2 s, the
# local stack's), so a slow node never makes the scrape itself fail.
SCRAPE_NODE_WAIT_SECONDS = 0.5
SCRAPE_STORE_WAIT_SECONDS = 0.5


async def _up(check: Awaitable[Any]) -> dict[str, Any]:
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT_SECONDS)
        return {"status": "up"}
    except Exception as exc:
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}


def _answer(ok: bool, body: dict[str, Any]) -> Response:
    response = jsonify({"status": "ok" if ok else "unavailable", "version": VERSION, **body})
    response.status_code = 200 if ok else 503
    return response


@bp.get("/health")
async def deep() -> Response:
    state = runtime()
    database, redis = await asyncio.gather(_up(state.ports.store.ping()), _up(state.ports.cache.ping()))
    network = await state.monitor.observe()
    tron = {
        "status": "up" if network.status != "down" else "down",
        "network_status": network.status,
        "height": network.height,
    }
    if network.error:
        tron["error"] = network.error[:200]
    components = {"database": database, "redis": redis, "tron_network": tron}
    return _answer(all(c["status"] == "up" for c in components.values()), {"components": components})


@bp.get("/health/live")
async def live() -> Response:
    return _answer(True, {})


@bp.get("/health/ready")
@bp.get("/ready")
async def ready() -> Response:
    state = runtime()
    if state.draining:
        return _answer(False, {"reason": "draining: shutting down"})
    database, redis = await asyncio.gather(_up(state.ports.store.ping()), _up(state.ports.cache.ping()))
    return _answer(
        database["status"] == redis["status"] == "up", {"components": {"database": database, "redis": redis}}
    )


@bp.get("/metrics")
async def prometheus_metrics() -> Response:
    # Keeps tron_network_status and tron_block_height fresh per scrape, without waiting on a slow node.
    await runtime().monitor.refresh(SCRAPE_NODE_WAIT_SECONDS)
    await _operation_ages()
    return Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


async def _operation_ages() -> None:
    """Read at scrape time, not by the worker: a stuck worker must not freeze the gauge that shows it.
    A store slower than the wait leaves the last values (the store's own alerts cover that)."""
    try:
        oldest = await asyncio.wait_for(runtime().ports.store.oldest_unfinished(), SCRAPE_STORE_WAIT_SECONDS)
    except Exception:
        return
    moment = now_ms()
    for kind in KINDS:
        age = (moment - oldest[kind]) / 1000 if kind in oldest else 0.0
        metrics.OLDEST_UNFINISHED_AGE.labels(kind=kind).set(max(0.0, age))
