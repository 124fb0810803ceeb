"""/api/v1/tron: the network as the service sees it."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from service.auth import requires
from service.clock import iso
from service.money import format_amount
from service.network import Observation
from service.ports.chain import ChainUnavailable
from service.routes.common import chain_error
from service.runtime import ports, runtime

bp = Blueprint("tron", __name__, url_prefix="/api/v1/tron")
BLOCK_TIME_SECONDS = 3


async def _reachable() -> Observation:
    observation = await runtime().monitor.observe()
    if observation.status == "down":
        raise chain_error(ChainUnavailable(observation.error))
    return observation


async def _prices() -> dict[str, int]:
    try:
        params = await ports().chain.chain_parameters()
    except ChainUnavailable as exc:
        raise chain_error(exc) from None
    return {"energy": params.get("getEnergyFee", 420), "bandwidth": params.get("getTransactionFee", 1000)}


@bp.get("/network/info")
@requires()
async def info() -> dict[str, Any]:
    observation = await _reachable()
    prices = await _prices()
    chain = ports().chain
    try:
        node_info = await chain.node_info()
        genesis = await chain.genesis_block_id()
    except ChainUnavailable as exc:
        raise chain_error(exc) from None
    return {
        "network_name": chain.network_name,
        "network_id": str(node_info.get("configNodeInfo", {}).get("p2pVersion", "")),
        "chain_id": genesis,
        "current_height": observation.height,
        "block_time": BLOCK_TIME_SECONDS,
        "energy_price": prices["energy"],
        "bandwidth_price": prices["bandwidth"],
    }


@bp.get("/network/status")
@requires()
async def status() -> dict[str, Any]:
    observation = await runtime().monitor.observe()
    return {
        "status": observation.status,
        "current_height": observation.height,
        "last_block_time": iso(observation.block_time_ms) if observation.block_time_ms else None,
        "sync_lag_seconds": observation.sync_lag_seconds,
    }


@bp.get("/network/height")
@requires()
async def height() -> dict[str, Any]:
    observation = await _reachable()
    return {"height": observation.height, "timestamp": iso(observation.block_time_ms)}


@bp.get("/network/fees")
@requires()
async def fees() -> dict[str, Any]:
    await _reachable()
    prices = await _prices()
    # A plain TRX transfer costs ~270 bytes of bandwidth; a TRC20 transfer ~65,000 energy.
    return {
        "energy_price": format_amount(prices["energy"]),
        "bandwidth_price": format_amount(prices["bandwidth"]),
        "transaction_fee": format_amount(270 * prices["bandwidth"]),
        "smart_contract_fee": format_amount(65_000 * prices["energy"]),
        # burned on top by every transaction the service signs: it carries its operation id as a memo
        "memo_fee": format_amount(await _memo_fee()),
    }


async def _memo_fee() -> int:
    try:
        return await ports().chain.memo_fee()
    except ChainUnavailable as exc:
        raise chain_error(exc) from None
