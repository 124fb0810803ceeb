"""The devnet as a program: ready line, clean stop on SIGTERM / SIGINT, a custom genesis, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from tronpy.keys import PrivateKey

from stack.devnet import DevnetConfig, start_devnet
from stack.processes import devnet_command
from tests.devnet.harness import REPO, launch, stop


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stops_cleanly_on_signal(signum: int) -> None:
    process, ready = launch("--block-interval", "0.1")
    assert httpx.get(f"{ready['url']}/control/info").status_code == 200
    assert stop(process, signum) == 0


def test_custom_genesis_funds_its_treasury(tmp_path: Path) -> None:
    treasury, contract = PrivateKey.random(), PrivateKey.random()
    genesis = tmp_path / "genesis.json"
    genesis.write_text(
        json.dumps(
            {
                "treasury_private_key": treasury.hex(),
                "trx_balance": 5_000_000,
                "usdt_supply": 7_000_000,
                "usdt_contract_address": contract.public_key.to_base58check_address(),
            }
        )
    )
    process, ready = launch("--genesis", str(genesis))
    try:
        assert ready["treasury_address"] == treasury.public_key.to_base58check_address()
        ledger = httpx.get(f"{ready['url']}/control/ledger").json()
        assert (ledger["trx_total"], ledger["usdt_total"]) == (5_000_000, 7_000_000)
    finally:
        assert stop(process) == 0


def test_bad_genesis_exits_with_a_message(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps({"treasury_private_key": "zz", "trx_balance": 1}))

    result = subprocess.run(
        devnet_command("127.0.0.1", 0, "--genesis", str(genesis)),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert "genesis" in result.stderr


def test_bad_arguments_are_refused() -> None:
    result = subprocess.run(
        devnet_command("127.0.0.1", 0, "--block-interval", "0"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "block_interval must be positive" in result.stderr


def test_in_process_handle_serves_and_stops() -> None:
    devnet = start_devnet(DevnetConfig(block_interval=0.05, confirmations=1))
    try:
        info = httpx.get(f"{devnet.url}/control/info").json()
        assert info["treasury_address"] == devnet.treasury_address
    finally:
        devnet.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{devnet.url}/control/info")
