"""The devnet as a real child process, and a small client for its control API."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tronpy.keys import PrivateKey

from harness.waiting import wait_for
from stack.processes import devnet_command

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
# The shared test devnet: fast blocks, 2 confirmations, a 2 s unfreeze delay.
BLOCK_INTERVAL = 0.1
CONFIRMATIONS = 2
UNFREEZE_DELAY = 2.0
STOP_TIMEOUT = 10.0


def launch(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start `python -m stack.devnet` on a free loopback port; returns it and its ready line."""
    process = subprocess.Popen(
        devnet_command("127.0.0.1", 0, *args),
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")  # EOF: the process died before (or after) getting ready

    threading.Thread(target=pump, daemon=True).start()
    try:
        line = lines.get(timeout=READY_TIMEOUT)
    except queue.Empty:
        process.kill()
        raise AssertionError(f"devnet printed no ready line within {READY_TIMEOUT} s") from None
    if not line:
        raise AssertionError(f"devnet exited with {process.wait()} before getting ready")
    ready = json.loads(line)
    assert ready["event"] == "devnet_ready", ready
    return process, ready


def stop(process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> int:
    process.send_signal(signum)
    try:
        return process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@dataclass
class DevnetNode:
    url: str
    treasury_address: str
    usdt_address: str
    block_interval: float
    confirmations: int
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=30.0)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(path, json=body)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path)

    def info(self) -> dict[str, Any]:
        return dict(self.get("/control/info").json())

    def height(self) -> int:
        return int(self.info()["height"])

    def fund(self, address: str, amount: int, currency: str = "TRX") -> int:
        """Faucet `amount` base units and wait for the block; returns its number."""
        response = self.post(
            "/control/faucet", {"address": address, "amount": amount, "currency": currency, "wait": True}
        )
        assert response.status_code == 200, response.text
        return int(response.json()["block_number"])

    def new_account(self, trx: int = 0, usdt: int = 0) -> PrivateKey:
        key = PrivateKey.random()
        address = key.public_key.to_base58check_address()
        if trx:
            self.fund(address, trx, "TRX")
        if usdt:
            self.fund(address, usdt, "USDT")
        return key

    def new_accounts(self, count: int, trx: int = 0, usdt: int = 0) -> list[PrivateKey]:
        """Like new_account, funding them all at once (the faucet takes concurrent requests)."""
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(lambda _: self.new_account(trx, usdt), range(count)))

    def mine(self, blocks: int = 1) -> int:
        response = self.post("/control/mine", {"blocks": blocks})
        assert response.status_code == 200, response.text
        return int(response.json()["height"])

    def set_fault(self, fault: str, body: dict[str, Any]) -> None:
        response = self.post(f"/control/{fault}", body)
        assert response.status_code == 200, response.text

    def inject(self, fault: str, ttl_s: float = 60.0, **params: Any) -> list[dict[str, Any]]:
        """Switch a fault on through POST /control/faults; returns the active faults."""
        response = self.post("/control/faults", {"fault": fault, "ttl_s": ttl_s, **params})
        assert response.status_code == 200, response.text
        return list(response.json()["faults"])

    def active_faults(self) -> list[dict[str, Any]]:
        return list(self.info()["faults"])

    def wait_blocks(self, count: int) -> int:
        """Wait until `count` more blocks are produced; returns the new height."""
        target = self.height() + count
        wait_for(lambda: self.height() >= target, 10.0, f"height {target}", interval=self.block_interval / 2)
        return self.height()
