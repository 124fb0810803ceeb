"""The `/control/` API: devnet facts, the faucet, fault injection and manual mining.

Every fault is on for a time to live (`ttl_s`), listed with its time left in /control/info, and
cleared by /control/reset-faults. Bad input is a 400 naming the field to fix, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stack.devnet.chain import BroadcastError, Chain
from stack.devnet.config import DevnetConfig
from stack.devnet.faucet import Faucet
from stack.devnet.faults import DEFAULT_LEGACY_TTL_S, MAX_TTL_S, Faults
from stack.devnet.transaction_codec import INT64_MAX, to_hex_address
from stack.devnet.views import address
from stack.devnet.wallet_api import REFUSALS

Handler = Callable[[Any], dict[str, Any]]
CURRENCIES = ("TRX", "USDT")
MAX_LATENCY_MS = 600_000
MAX_MINE_BLOCKS = 1_000
FAULT_PATH = "/control/faults/"  # DELETE /control/faults/NAME
MAX_LAG_S = 3600.0
SHARED = ("share", "seed")  # every fault hitting a share of requests takes these


def _share(obj: dict[str, Any]) -> dict[str, Any]:
    share = obj.get("share")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ControlError(400, "share: must be a number from 0 to 1 (the fraction of requests hit)")
    return {"share": float(share)}


def _choice(obj: dict[str, Any], field: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if obj.get(field) not in allowed:
        raise ControlError(400, f"{field}: must be one of {', '.join(allowed)}")
    return {field: obj[field]}


def _seconds(obj: dict[str, Any], field: str, high: float) -> float:
    value = obj.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        raise ControlError(400, f"{field}: must be a number of seconds, more than 0 and at most {high:g}")
    return float(value)


# Each fault's parameters: the fields it accepts and how to read them from the request body.
FAULT_PARAMS: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "refuse": (
        ("code", *SHARED),
        lambda o: {**_choice(o, "code", tuple(REFUSALS)), **_share(o)},
    ),
    "internal_error": (SHARED, _share),
    "lose_answer": (("mode", *SHARED), lambda o: {**_share(o), **_choice(o, "mode", ("drop", "hang"))}),
    "lag": (("seconds",), lambda o: {"seconds": _seconds(o, "seconds", MAX_LAG_S)}),
    "revert_trc20": (
        ("reason", *SHARED),
        lambda o: {**_share(o), **_choice(o, "reason", ("OUT_OF_ENERGY", "REVERT"))},
    ),
    "down": ((), lambda o: {}),
    "latency": (("ms",), lambda o: {"ms": _int(o, "ms", None, 1, MAX_LATENCY_MS)}),
    "stall": ((), lambda o: {}),
}


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
            ("POST", "/control/faults"): self.set_fault,
            ("POST", "/control/forget-broadcasts"): self.forget_broadcasts,
            ("POST", "/control/mine"): self.mine,
        }
        self._paths = {path for _, path in self.routes}

    def route_label(self, path: str) -> str:
        """The metrics label of a control path: one per route, whatever fault name a DELETE names."""
        if path.startswith(FAULT_PATH):
            return FAULT_PATH + "{name}"
        return path if path in self._paths else "unknown"

    def handle(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        """Status and JSON answer; `body` is the parsed JSON (None when there was none)."""
        if path.startswith(FAULT_PATH):
            return self._remove_fault(method, path.removeprefix(FAULT_PATH))
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
            "broadcast_cache_ttl": self._chain.broadcast_cache_ttl_s,
            **self._faults.as_dict(),
            "faults": self._faults.listing(),
        }

    def ledger(self, body: Any) -> dict[str, Any]:
        totals = self._chain.ledger_totals()
        genesis = self._chain.genesis
        # Burned fees left every account but were never created or lost: they count towards genesis.
        trx_accounted = totals["trx_total"] + totals["trx_burned"]
        conserved = trx_accounted == genesis.trx_balance and totals["usdt_total"] == genesis.usdt_supply
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

    # The original three faults keep their shape and answer; they now take an optional ttl_s.

    def down(self, body: Any) -> dict[str, Any]:
        obj = _object(body)
        self._switch("down", {} if _bool(obj, "down", None) else None, obj)
        return self._faults.as_dict()

    def latency(self, body: Any) -> dict[str, Any]:
        obj = _object(body)
        ms = _int(obj, "ms", None, 0, MAX_LATENCY_MS)
        self._switch("latency", {"ms": ms} if ms else None, obj)
        return self._faults.as_dict()

    def stall(self, body: Any) -> dict[str, Any]:
        obj = _object(body)
        self._switch("stall", {} if _bool(obj, "stalled", None) else None, obj)
        return self._faults.as_dict()

    def _switch(self, name: str, params: dict[str, Any] | None, obj: dict[str, Any]) -> None:
        ttl = _seconds(obj, "ttl_s", MAX_TTL_S) if "ttl_s" in obj else DEFAULT_LEGACY_TTL_S
        if params is None:
            self._faults.remove(name)
        else:
            self._faults.set(name, params, ttl)

    def reset_faults(self, body: Any) -> dict[str, Any]:
        self._faults.reset()
        return self._faults.as_dict()

    def set_fault(self, body: Any) -> dict[str, Any]:
        obj = _object(body)
        name = obj.get("fault")
        if name not in FAULT_PARAMS:
            raise ControlError(400, f"fault: must be one of {', '.join(FAULT_PARAMS)}")
        fields, read = FAULT_PARAMS[name]
        unknown = sorted(set(obj) - {"fault", "ttl_s", *fields})
        if unknown:
            allowed = ", ".join(("ttl_s", *fields))
            raise ControlError(400, f"{unknown[0]}: not a parameter of {name}; it takes {allowed}")
        ttl = _seconds(obj, "ttl_s", MAX_TTL_S)
        params = read(obj)
        seed = obj.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ControlError(400, "seed: must be an integer (it makes the share's draws repeatable)")
        self._faults.set(name, params, ttl, seed)
        return {"faults": self._faults.listing()}

    def _remove_fault(self, method: str, name: str) -> tuple[int, dict[str, Any]]:
        if method != "DELETE":
            return 405, {"error": f"{method} not allowed on {FAULT_PATH}{name}"}
        if name not in FAULT_PARAMS:
            return 404, {"error": f"fault: no fault named {name!r}; one of {', '.join(FAULT_PARAMS)}"}
        self._faults.remove(name)
        return 200, {"faults": self._faults.listing()}

    def forget_broadcasts(self, body: Any) -> dict[str, Any]:
        """As if the next broadcast reached another node behind the balancer (or a restarted one)."""
        self._chain.forget_broadcasts()
        return {"forgotten": True}

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
        raise ControlError(400, f"{field}: must be true or false")
    return value


def _int(obj: dict[str, Any], field: str, default: int | None, low: int, high: int) -> int:
    value = obj.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ControlError(400, f"{field}: must be an integer from {low} to {high}")
    return value
