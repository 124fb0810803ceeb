"""The control API: faults a client really feels, manual mining, metrics, and 400s for bad input."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import requests
from tronpy import AsyncTron, Tron
from tronpy.keys import PrivateKey
from tronpy.providers import AsyncHTTPProvider

from tests.devnet.harness import DevnetNode

WAIT = {"timeout": 10, "interval": 0.05}
LATENCY_MS = 300


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


async def test_down_fails_every_node_call_until_brought_back(node: DevnetNode, client: Tron) -> None:
    node.set_fault("down", {"down": True})

    with pytest.raises(requests.HTTPError, match="503"):
        client.get_latest_block_number()
    async with AsyncTron(AsyncHTTPProvider(node.url)) as async_client:
        with pytest.raises(httpx.HTTPStatusError, match="503"):
            await async_client.get_latest_block_number()
    assert node.info()["down"] is True
    assert "tron_devnet_up 0.0" in node.get("/metrics").text

    node.set_fault("down", {"down": False})
    assert client.get_latest_block_number() >= 0
    assert "tron_devnet_up 1.0" in node.get("/metrics").text


def test_latency_delays_node_calls_but_not_control(node: DevnetNode, client: Tron) -> None:
    node.set_fault("latency", {"ms": LATENCY_MS})

    assert timed(client.get_latest_block_number) >= LATENCY_MS / 1000
    assert timed(node.info) < LATENCY_MS / 1000
    assert node.info()["latency_ms"] == LATENCY_MS

    node.set_fault("latency", {"ms": 0})
    assert timed(client.get_latest_block_number) < LATENCY_MS / 1000


def test_stall_stops_blocks_and_unstall_resumes(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=2_000_000)
    node.set_fault("stall", {"stalled": True})
    height = node.height()
    ret = client.trx.transfer(addr(owner), node.treasury_address, 1_000_000).build().sign(owner).broadcast()

    # No block may appear over five block intervals.
    deadline = time.monotonic() + 5 * node.block_interval
    while time.monotonic() < deadline:
        assert node.height() == height
    assert "tron_devnet_pending_transactions 1.0" in node.get("/metrics").text
    assert node.info()["stalled"] is True

    node.set_fault("stall", {"stalled": False})
    assert ret.wait(**WAIT)["blockNumber"] > height
    assert node.wait_blocks(2) > height


def test_reset_faults_clears_all_three(node: DevnetNode) -> None:
    node.set_fault("down", {"down": True})
    node.set_fault("latency", {"ms": 50})
    node.set_fault("stall", {"stalled": True})

    response = node.post("/control/reset-faults")

    assert response.json() == {"down": False, "latency_ms": 0, "stalled": False}
    info = node.info()
    assert (info["down"], info["latency_ms"], info["stalled"]) == (False, 0, False)


def test_info_describes_the_devnet(node: DevnetNode) -> None:
    info = node.info()
    assert info["treasury_address"] == node.treasury_address
    assert info["usdt_contract_address"] == node.usdt_address
    assert (info["block_interval"], info["confirmations"]) == (node.block_interval, node.confirmations)
    assert info["solid_height"] == max(0, info["height"] - node.confirmations)
    assert (info["broadcast_cache_ttl"], info["faults"]) == (3600, [])  # java-tron's one hour; none on


def test_mine_produces_blocks_while_stalled(node: DevnetNode) -> None:
    node.set_fault("stall", {"stalled": True})
    height = node.height()
    assert node.mine(3) == height + 3


def test_faucet_without_wait_returns_the_txid_at_once(node: DevnetNode, client: Tron) -> None:
    node.set_fault("stall", {"stalled": True})
    response = node.post(
        "/control/faucet", {"address": addr(PrivateKey.random()), "amount": 5, "currency": "TRX"}
    )
    assert response.status_code == 200
    node.mine()
    assert client.get_transaction_info(response.json()["txid"])["blockNumber"] == node.height()


def test_metrics_expose_height_and_requests(node: DevnetNode, client: Tron) -> None:
    # A block of the test's own: a node started moments before, on a loaded machine, may not have
    # produced one yet (CI, two runs at once: the gauge read 0.0).
    mined = node.mine()
    client.get_latest_block_number()
    text = node.get("/metrics").text
    height = next(line for line in text.splitlines() if line.startswith("tron_devnet_block_height "))
    assert float(height.split()[1]) >= mined >= 1
    assert 'tron_devnet_requests_total{code="200",path="/wallet/getnodeinfo"}' in text


def test_ledger_totals_match_genesis(node: DevnetNode) -> None:
    """Conserved whatever ran before on this node: TRX a reverted TRC20 call burned counts as burned."""
    ledger = node.get("/control/ledger").json()
    assert ledger["trx_total"] + ledger["trx_burned"] == ledger["genesis_trx"]
    assert ledger["usdt_total"] == ledger["genesis_usdt"]
    assert ledger["conserved"] is True


BAD_INPUT = [
    ("/control/faucet", {"amount": 5, "currency": "TRX"}, "address"),
    ("/control/faucet", {"address": "Tnot-an-address", "amount": 5, "currency": "TRX"}, "address"),
    (
        "/control/faucet",
        {"address": "TYsF6NS3f9V8Ugccom8aqxmG2JtKVrSwCJ", "amount": -1, "currency": "TRX"},
        "amount",
    ),
    (
        "/control/faucet",
        {"address": "TYsF6NS3f9V8Ugccom8aqxmG2JtKVrSwCJ", "amount": "5", "currency": "TRX"},
        "amount",
    ),
    (
        "/control/faucet",
        {"address": "TYsF6NS3f9V8Ugccom8aqxmG2JtKVrSwCJ", "amount": 5, "currency": "BTC"},
        "currency",
    ),
    (
        "/control/faucet",
        {"address": "TYsF6NS3f9V8Ugccom8aqxmG2JtKVrSwCJ", "amount": 5, "currency": "TRX", "wait": 1},
        "wait",
    ),
    ("/control/faucet", [1, 2], "JSON object"),
    ("/control/down", {"down": "yes"}, "down"),
    ("/control/down", {}, "down"),
    ("/control/latency", {"ms": -5}, "ms"),
    ("/control/latency", {"ms": 1.5}, "ms"),
    ("/control/stall", {"stalled": None}, "stalled"),
    ("/control/mine", {"blocks": 0}, "blocks"),
]


@pytest.mark.parametrize(("path", "body", "mentions"), BAD_INPUT)
def test_bad_control_input_is_a_400(node: DevnetNode, path: str, body: Any, mentions: str) -> None:
    response = node.post(path, body)
    assert response.status_code == 400
    assert mentions in response.json()["error"]


def test_invalid_json_and_unknown_routes(node: DevnetNode) -> None:
    response = node.http.post(
        "/control/down", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "invalid JSON" in response.json()["error"]
    assert node.get("/control/faucet").status_code == 405
    assert node.get("/control/nope").status_code == 404
    assert node.post("/wallet/nope", {}).status_code == 404


def test_faucet_refusal_is_a_400(node: DevnetNode) -> None:
    response = node.post(
        "/control/faucet", {"address": node.treasury_address, "amount": 5, "currency": "TRX"}
    )
    assert response.status_code == 400
    assert "yourself" in response.json()["error"]
