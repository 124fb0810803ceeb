"""TronGrid's v1 account-history API, served from the devnet's blocks: how an auditor reads the chain
by address and time window, without scanning blocks.

Followed: TronGrid's README (github.com/TRON-US/trongrid, "Get Transactions By Account Address") and
developers.tron.network ("Get transaction info by account address", "Get TRC20 transaction info by
account address"):

- `GET /v1/accounts/{address}/transactions`: the transactions from or to the address, each as the
  node prints a transaction plus `blockNumber`, `block_timestamp`, fee fields and `ret` carrying
  `contractRet` and `fee`; options `only_confirmed`, `only_unconfirmed`, `only_from`, `only_to`,
  `limit` (default 20, max 200), `fingerprint`, `order_by` (`block_timestamp,asc|desc`, default
  desc), `min_timestamp` / `max_timestamp` (aliases of `min_block_timestamp` / `max_block_timestamp`).
- `GET /v1/accounts/{address}/transactions/trc20`: the TRC20 `Transfer` events the address is a
  party of (a reverted call emits none, so it is not listed), each `{transaction_id, token_info,
  block_timestamp, from, to, type, value}` with `value` a decimal string; option `contract_address`.
- Answers are `{"data": [...], "success": true, "meta": {"at", "page_size", "fingerprint"?,
  "links": {"next"}?}}`; `fingerprint` is opaque and present only when another page exists.
  Query names are accepted in camelCase too. Bad options answer 400 `{"success": false, "error",
  "statusCode": 400}`.

Addresses come back in hex in `raw_data` (as TronGrid prints them) and base58 in the TRC20 events.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from stack.devnet import usdt, views
from stack.devnet.chain import Chain, TxRecord
from stack.devnet.transaction_codec import TRANSFER, to_hex_address

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
ROUTE = re.compile(r"^/v1/accounts/(?P<address>[^/]+)/transactions(?P<trc20>/trc20)?$")
ROUTE_LABELS = ("/v1/accounts/{address}/transactions", "/v1/accounts/{address}/transactions/trc20")
OPTIONS = {
    "only_confirmed",
    "only_unconfirmed",
    "only_from",
    "only_to",
    "limit",
    "fingerprint",
    "order_by",
    "min_timestamp",
    "max_timestamp",
    "min_block_timestamp",
    "max_block_timestamp",
    "contract_address",
    "search_internal",
}


class BadQuery(ValueError):
    """An option TronGrid would refuse; the message names it and what to send."""


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class Query:
    """The query string, camelCase or snake_case, with TronGrid's defaults."""

    def __init__(self, raw: dict[str, list[str]]) -> None:
        self.values = {_snake(k): v[-1] for k, v in raw.items()}
        unknown = sorted(set(self.values) - OPTIONS)
        if unknown:
            raise BadQuery(f"unknown option(s) {unknown}; allowed: {sorted(OPTIONS)}")

    def flag(self, name: str) -> bool:
        value = self.values.get(name, "false").lower()
        if value not in ("true", "false"):
            raise BadQuery(f"{name} must be true or false, not {value!r}")
        return value == "true"

    def integer(self, *names: str, default: int) -> int:
        for name in names:
            if name in self.values:
                try:
                    return int(self.values[name])
                except ValueError:
                    raise BadQuery(f"{name} must be an integer, not {self.values[name]!r}") from None
        return default


class TronGridApi:
    def __init__(self, chain: Chain, solid_height: Callable[[], int], head_height: Callable[[], int]):
        self._chain = chain
        self._solid_height = solid_height
        self._head_height = head_height

    @staticmethod
    def route_label(path: str) -> str | None:
        match = ROUTE.match(path)
        return None if match is None else ROUTE_LABELS[1 if match["trc20"] else 0]

    def handle(self, path: str, query: dict[str, list[str]], base_url: str) -> tuple[int, dict[str, Any]]:
        match = ROUTE.match(path)
        assert match is not None  # route_label said so
        try:
            options = Query(query)
            address = _address(match["address"])
            items = self._trc20(address, options) if match["trc20"] else self._transactions(address, options)
            return 200, _page(items, options, f"{base_url}{path}")
        except BadQuery as exc:
            return 400, {"success": False, "error": str(exc), "statusCode": 400}

    def _window(self, options: Query) -> list[TxRecord]:
        confirmed, unconfirmed = options.flag("only_confirmed"), options.flag("only_unconfirmed")
        if confirmed and unconfirmed:
            raise BadQuery("only_confirmed and only_unconfirmed cannot both be true")
        low = options.integer("min_timestamp", "min_block_timestamp", default=0)
        high = options.integer("max_timestamp", "max_block_timestamp", default=int(time.time() * 1000))
        solid = self._solid_height()
        records = self._chain.history(low, high, solid if confirmed else self._head_height())
        if unconfirmed:
            records = [r for r in records if (r.block_number or 0) > solid]
        return records

    def _transactions(self, address: str, options: Query) -> list[tuple[TxRecord, dict[str, Any]]]:
        only_from, only_to = options.flag("only_from"), options.flag("only_to")
        found = []
        for record in self._window(options):
            sent = record.raw.owner == address
            received = address in _receivers(record)
            # TronGrid: "filters are non exclusive" (only_from and only_to together is no filter).
            if (sent and not only_to) or (received and not only_from) or (sent and received):
                found.append((record, _transaction(record)))
        return found

    def _trc20(self, address: str, options: Query) -> list[tuple[TxRecord, dict[str, Any]]]:
        contract = options.values.get("contract_address")
        if contract is not None and _address(contract) != self._chain.usdt_address:
            return []
        found = []
        for record in self._window(options):
            for sender, receiver, value in _transfers(record):
                if address in (sender, receiver):
                    found.append((record, self._event(record, sender, receiver, value)))
        return found

    def _event(self, record: TxRecord, sender: str, receiver: str, value: int) -> dict[str, Any]:
        return {
            "transaction_id": record.txid,
            "token_info": {
                "symbol": usdt.SYMBOL,
                "address": views.address(self._chain.usdt_address, True),
                "decimals": usdt.DECIMALS,
                "name": usdt.NAME,
            },
            "block_timestamp": record.block_timestamp,
            "from": views.address(sender, True),
            "to": views.address(receiver, True),
            "type": "Transfer",
            "value": str(value),
        }


def _address(text: str) -> str:
    try:
        return to_hex_address(text[2:] if text.startswith("0x") else text)
    except Exception:
        raise BadQuery(f"{text!r} is not a TRON address (base58 T..., or hex 41...)") from None


def _transfers(record: TxRecord) -> list[tuple[str, str, int]]:
    """The USDT Transfer events a transaction emitted: (from, to, value), hex addresses."""
    if record.execution is None:
        return []
    return [
        ("41" + log.topics[1][-40:], "41" + log.topics[2][-40:], int(log.data, 16))
        for log in record.execution.logs
        if log.topics and log.topics[0] == usdt.TRANSFER_TOPIC
    ]


def _receivers(record: TxRecord) -> set[str]:
    receivers = {receiver for _, receiver, _ in _transfers(record)}
    if record.raw.contract_type == TRANSFER:
        receivers.add(record.raw.params["to_address"])
    return receivers


def _transaction(record: TxRecord) -> dict[str, Any]:
    ex = record.execution
    result, fee = (ex.result, ex.fee + ex.memo_fee) if ex is not None else ("SUCCESS", 0)
    info = views.transaction_info(record, False)
    receipt = info.get("receipt", {})
    return {
        **views.transaction(record, False),
        "ret": [{"contractRet": result, "fee": fee}],
        "blockNumber": record.block_number,
        "block_timestamp": record.block_timestamp,
        "energy_fee": receipt.get("energy_fee", 0),
        "energy_usage": 0,
        "energy_usage_total": receipt.get("energy_usage_total", 0),
        "net_fee": 0,
        "net_usage": receipt.get("net_usage", 0),
        "internal_transactions": [],
    }


def _page(items: list[tuple[TxRecord, dict[str, Any]]], options: Query, url: str) -> dict[str, Any]:
    order = options.values.get("order_by", "block_timestamp,desc")
    if order not in ("block_timestamp,asc", "block_timestamp,desc", "timestamp,asc", "timestamp,desc"):
        raise BadQuery(f"order_by must be block_timestamp,asc or block_timestamp,desc, not {order!r}")
    limit = options.integer("limit", default=DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadQuery(f"limit must be 1..{MAX_LIMIT}, not {limit}")
    # Index of each item in a stable order; the fingerprint is the position after the last one sent.
    indexed = list(enumerate(items))
    if order.endswith("desc"):
        indexed.reverse()
    start = 0
    if "fingerprint" in options.values:
        start = _decode_fingerprint(options.values["fingerprint"], [i for i, _ in indexed])
    page = indexed[start : start + limit]
    meta: dict[str, Any] = {"at": int(time.time() * 1000), "page_size": len(page)}
    if start + limit < len(indexed):
        fingerprint = base64.urlsafe_b64encode(json.dumps({"after": page[-1][0]}).encode()).decode()
        meta["fingerprint"] = fingerprint
        following = {**options.values, "fingerprint": fingerprint}
        meta["links"] = {"next": f"{url}?{urlencode(following)}"}
    return {"data": [item for _, (_, item) in page], "success": True, "meta": meta}


def _decode_fingerprint(text: str, order: list[int]) -> int:
    try:
        after = int(json.loads(base64.urlsafe_b64decode(text.encode()))["after"])
        return order.index(after) + 1
    except (ValueError, KeyError, TypeError):
        raise BadQuery("fingerprint is not one this API handed out; send the previous page's") from None
