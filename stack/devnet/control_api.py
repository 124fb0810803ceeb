"""The `/control/` API: devnet facts, the faucet, fault injection and manual mining."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stack.devnet.chain import BroadcastError, Chain
from stack.devnet.config import DevnetConfig
from stack.devnet.faucet import Faucet
from stack.devnet.faults import Faults
from stack.devnet.transaction_codec import INT64_MAX, to_hex_address
from stack.devnet.views import address

Handler = Callable[[Any], dict[str, Any]]
CURRENCIES = ("TRX", "USDT")
MAX_LATENCY_MS = 600_000
MAX_MINE_BLOCKS = 1_000


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ControlApi:
    def __init__(self, chain: Chain, faults: Faults, faucet: Faucet, config: DevnetConfig) -> None:
        self._chain = chain
        self._faults = faults
        self._faucet = faucet
        self._config = config
        # Long enough for a block at any interval, short enough to report a stall.
        self._faucet_wait = max(10.0, 10 * config.block_interval)
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "/control/info"): self.info,
            ("GET", "/control/ledger"): self.ledger,
            ("POST", "/control/faucet"): self.faucet,
            ("POST", "/control/down"): self.down,
            ("POST", "/control/latency"): self.latency,
            ("POST", "/control/stall"): self.stall,
            ("POST", "/control/reset-faults"): self.reset_faults,
            ("POST", "/control/mine"): self.mine,
        }

    def handle(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Status and JSON answer; `body` is the parsed JSON (None when there was none)."""
        handler = self.routes.get((method, path))
        if handler is None:
            known = any(p == path for _, p in self.routes)
            return (
                (405, {"error": f"{method} not allowed on {path}"})
                if known
                else (404, {"error": f"no {path}"})
            )
        try:
            return 200, handler(body)
        except ControlError as exc:
            return exc.status, {"error": exc.message}

    def info(self, body: Any) -> dict[str, Any]:
        return {
            "treasury_address": self._chain.genesis.treasury_address,
            "usdt_contract_address": address(self._chain.usdt_address, True),
            "block_interval": self._config.block_interval,
            "confirmations": self._chain.confirmations,
            "unfreeze_delay": self._config.unfreeze_delay,
            "height": self._chain.height,
            "solid_height": self._chain.solid_height,
            **self._faults.as_dict(),
        }

    def ledger(self, body: Any) -> dict[str, Any]:
        totals = self._chain.ledger_totals()
        genesis = self._chain.genesis
        conserved = totals["trx_total"] == genesis.trx_balance and totals["usdt_total"] == genesis.usdt_supply
        return {
            **totals,
            "genesis_trx": genesis.trx_balance,
            "genesis_usdt": genesis.usdt_supply,
            "conserved": conserved,
        }

    def faucet(self, body: Any) -> dict[str, Any]:
        obj = _object(body)
        try:
            to = to_hex_address(obj.get("address"))
        except ValueError as exc:
            raise ControlError(400, f"address: {exc}") from exc
        amount = _int(obj, "amount", None, 1, INT64_MAX)
        currency = obj.get("currency")
        if currency not in CURRENCIES:
            raise ControlError(400, f"currency must be one of {', '.join(CURRENCIES)}")
        wait = _bool(obj, "wait", False)
        try:
            txid = self._faucet.send(to, amount, currency)
        except BroadcastError as exc:
            raise ControlError(400, f"faucet transaction refused: {exc.code}: {exc.message}") from exc
        if not wait:
            return {"txid": txid}
        block_number = self._chain.wait_included(txid, self._faucet_wait)
        if block_number is None:
            raise ControlError(504, f"faucet transaction {txid} not in a block after {self._faucet_wait:g}s")
        return {"txid": txid, "block_number": block_number}

    def down(self, body: Any) -> dict[str, Any]:
        self._faults.down = _bool(_object(body), "down", None)
        return self._faults.as_dict()

    def latency(self, body: Any) -> dict[str, Any]:
        self._faults.latency_ms = _int(_object(body), "ms", None, 0, MAX_LATENCY_MS)
        return self._faults.as_dict()

    def stall(self, body: Any) -> dict[str, Any]:
        self._faults.stalled = _bool(_object(body), "stalled", None)
        return self._faults.as_dict()

    def reset_faults(self, body: Any) -> dict[str, Any]:
        self._faults.reset()
        return self._faults.as_dict()

    def mine(self, body: Any) -> dict[str, Any]:
        """Produce blocks now, stalled or not, for tests that step confirmations deterministically."""
        blocks = _int(_object(body) if body is not None else {}, "blocks", 1, 1, MAX_MINE_BLOCKS)
        for _ in range(blocks):
            self._chain.produce_block()
        return {"height": self._chain.height}


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _bool(obj: dict[str, Any], field: str, default: bool | None) -> bool:
    value = obj.get(field, default)
    if not isinstance(value, bool):
        raise ControlError(400, f"{field} must be true or false")
    return value


def _int(obj: dict[str, Any], field: str, default: int | None, low: int, high: int) -> int:
    value = obj.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ControlError(400, f"{field} must be an integer from {low} to {high}")
    return value
