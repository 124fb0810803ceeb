"""Probes: /health (deep, for humans and dashboards), /health/live, /health/ready and /ready."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Blueprint, Response, jsonify

from service import VERSION, metrics
from service.clock import now_ms
from service.metrics import REGISTRY
from service.operations import KINDS
from service.ports import Ports
from service.runtime import runtime

bp = Blueprint("health", __name__)
PROBE_TIMEOUT_SECONDS = 2.0
# How long a scrape waits for a fresh view of the node: well under the shortest scrape timeout (2 s, the
# local stack's), so a slow node never makes the scrape itself fail.
SCRAPE_NODE_WAIT_SECONDS = 0.5
SCRAPE_STORE_WAIT_SECONDS = 0.5
FEE_WATCH_WALLETS = 50


async def _up(check: Awaitable[Any]) -> dict[str, Any]:
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT_SECONDS)
        return {"status": "up"}
    except Exception as exc:
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}


def _answer(ok: bool, body: dict[str, Any], failing: str = "unavailable") -> Response:
    response = jsonify({"status": "ok" if ok else failing, "version": VERSION, **body})
    response.status_code = 200 if ok else 503
    return response


async def _freeze() -> dict[str, Any]:
    try:
        state = await asyncio.wait_for(runtime().ports.store.payout_freeze(), PROBE_TIMEOUT_SECONDS)
    except Exception as exc:
        return {"frozen": None, "error": f"{type(exc).__name__}: {exc}"[:200]}
    metrics.PAYOUTS_FROZEN.set(1 if state["frozen"] else 0)
    return {"frozen": bool(state["frozen"]), "reason": state.get("reason")}


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
    _publish_dependencies(database, redis, tron)
    # [decided] Without the database nothing works; without Redis or the node the service still takes
    # requests (rate limits per pod, moves queued), so it is degraded, not unavailable.
    failing = "unavailable" if database["status"] == "down" else "degraded"
    return _answer(
        all(c["status"] == "up" for c in components.values()),
        {"components": components, "payouts": await _freeze()},
        failing,
    )


def _publish_dependencies(*states: dict[str, Any]) -> None:
    for dependency, state in zip(metrics.DEPENDENCIES, states, strict=True):
        metrics.DEPENDENCY_UP.labels(dependency=dependency).set(1 if state["status"] == "up" else 0)


@bp.get("/health/live")
async def live() -> Response:
    return _answer(True, {})


@bp.get("/health/ready")
@bp.get("/ready")
async def ready() -> Response:
    state = runtime()
    if state.draining:
        return _answer(False, {"reason": "draining: shutting down"})
    # [decided] The database only: a Redis outage must not take every pod out of the Service at once
    # (rate limits fall back to a per-pod cap meanwhile, and /health reports it).
    database = await _up(state.ports.store.ping())
    return _answer(database["status"] == "up", {"components": {"database": database}})


@bp.get("/metrics")
async def prometheus_metrics() -> Response:
    # Keeps tron_network_status and tron_block_height fresh per scrape, without waiting on a slow node.
    await runtime().monitor.refresh(SCRAPE_NODE_WAIT_SECONDS)
    await asyncio.gather(_operation_ages(), _scrape_dependencies(), _blocked_on_fees())
    return Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


async def _scrape_dependencies() -> None:
    """Each dependency's reachability and the kill switch, fresh per scrape and bounded like it."""
    state = runtime()
    database, redis = await asyncio.gather(
        _up(asyncio.wait_for(state.ports.store.ping(), SCRAPE_STORE_WAIT_SECONDS)),
        _up(asyncio.wait_for(state.ports.cache.ping(), SCRAPE_STORE_WAIT_SECONDS)),
    )
    node = {"status": "down" if state.monitor.last_status() == "down" else "up"}
    _publish_dependencies(database, redis, node)
    if database["status"] == "up":
        with contextlib.suppress(Exception):
            frozen = await asyncio.wait_for(state.ports.store.payouts_frozen(), SCRAPE_STORE_WAIT_SECONDS)
            metrics.PAYOUTS_FROZEN.set(1 if frozen else 0)


async def blocked_on_fees(ports: Ports, currency: str) -> int:
    """Operations not yet signed whose source wallet lacks the TRX they need: a TRX move its amount,
    each its memo fee (getMemoFee), a USDT move some TRX for the energy and bandwidth it burns.
    Bounded: at most FEE_WATCH_WALLETS wallets, one balance read each."""
    unsent = await ports.store.unsent_by_source(currency, FEE_WATCH_WALLETS)
    memo_fee = await ports.chain.memo_fee()
    balances = await asyncio.gather(*(ports.chain.balance(address, "TRX") for address in unsent))
    return sum(
        count
        for (count, amount), trx in zip(unsent.values(), balances, strict=True)
        if trx < (amount if currency == "TRX" else 1) + count * memo_fee
    )


async def _blocked_on_fees() -> None:
    """Within the scrape's wait; a slower store or node leaves the last values."""
    for currency in ("TRX", "USDT"):
        with contextlib.suppress(Exception):
            count = await asyncio.wait_for(
                blocked_on_fees(runtime().ports, currency), SCRAPE_STORE_WAIT_SECONDS
            )
            metrics.OPERATIONS_BLOCKED_ON_FEES.labels(currency=currency).set(count)


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
