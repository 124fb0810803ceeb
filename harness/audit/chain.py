"""The chain's side of the audit, read the way TronGrid serves it: per address, per time window, paged
by fingerprint (`/v1/accounts/{address}/transactions` and `.../transactions/trc20`; the devnet
imitates both, stack/devnet/trongrid.py says from what sources). No block is scanned."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from tronpy import keys

from harness.clients.http import JsonClient

TRC20_TRANSFER = "a9059cbb"  # transfer(address,uint256)
PAGE_LIMIT = 200  # TronGrid's largest page
# TronGrid asks production callers for a key in this header (developers.tron.network, "API Key").
API_KEY_HEADER = "TRON-PRO-API-KEY"


class ChainUnreadable(RuntimeError):
    """TronGrid (or the devnet standing in for it) did not answer as TronGrid does; says which call."""


@dataclass(frozen=True)
class ChainTx:
    """One transaction a service wallet sent, as the chain shows it."""

    tx_id: str
    owner: str
    succeeded: bool
    result: str  # contractRet: SUCCESS, REVERT, OUT_OF_ENERGY...
    fee: int  # SUN burned
    block_timestamp: int
    to_address: str | None  # a TRX transfer's recipient, or the recipient a TRC20 transfer call names
    trx_amount: int  # TRX a TransferContract carried; 0 for anything else
    currency: str | None  # TRX for a TRX transfer, USDT for a call of the token's transfer, else None
    usdt_amount: int = 0  # base units a TRC20 transfer call names; 0 for anything else
    memo: str = ""  # raw_data.data as text: the service writes its operation there (op:<kind>:<id>)


def base58(address: str) -> str:
    return address if address.startswith("T") else str(keys.to_base58check_address(address))


def _chain_tx(item: dict[str, Any], usdt_contract: str) -> ChainTx:
    contract = item["raw_data"]["contract"][0]
    value = contract["parameter"]["value"]
    ret = (item.get("ret") or [{}])[0]
    result = str(ret.get("contractRet", "SUCCESS"))
    to_address, trx_amount, currency, usdt_amount = None, 0, None, 0
    if contract["type"] == "TransferContract":
        to_address, trx_amount, currency = base58(value["to_address"]), int(value.get("amount", 0)), "TRX"
    elif (
        contract["type"] == "TriggerSmartContract"
        and base58(value["contract_address"]) == usdt_contract
        and str(value.get("data", "")).startswith(TRC20_TRANSFER)
    ):
        to_address, currency = base58("41" + value["data"][8 + 24 : 8 + 64]), "USDT"
        usdt_amount = int(value["data"][8 + 64 : 8 + 128] or "0", 16)
    return ChainTx(
        tx_id=str(item["txID"]),
        owner=base58(value["owner_address"]),
        succeeded=result == "SUCCESS",
        result=result,
        fee=int(ret.get("fee", 0)),
        block_timestamp=int(item["block_timestamp"]),
        to_address=to_address,
        trx_amount=trx_amount,
        currency=currency,
        usdt_amount=usdt_amount,
        memo=bytes.fromhex(item["raw_data"].get("data", "")).decode(errors="replace"),
    )


class TronGrid(JsonClient):
    surface = "TronGrid"

    def __init__(self, url: str, usdt_contract: str, timeout: float = 30.0) -> None:
        super().__init__(url, timeout)
        self.usdt_contract = usdt_contract
        key = os.environ.get("TRONGRID_API_KEY")
        if key:
            self.http.headers[API_KEY_HEADER] = key

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {**params, "limit": PAGE_LIMIT, "order_by": "block_timestamp,asc"}
        while True:
            try:
                response = self.http.get(path, params=query)
                body = response.json()
            except (httpx.HTTPError, ValueError) as error:
                raise ChainUnreadable(f"GET {path}: {error!r}") from error
            if response.status_code != 200 or not body.get("success"):
                raise ChainUnreadable(f"GET {path} answered {response.status_code}: {response.text[:300]}")
            yield from body["data"]
            fingerprint = body.get("meta", {}).get("fingerprint")
            if not fingerprint:
                return
            query["fingerprint"] = fingerprint

    def sent(self, address: str, since_ms: int, until_ms: int) -> list[ChainTx]:
        """Every transaction `address` sent with a block stamped in the window."""
        params = {"only_from": "true", "min_timestamp": since_ms, "max_timestamp": until_ms}
        try:
            return [
                _chain_tx(item, self.usdt_contract)
                for item in self._pages(f"/v1/accounts/{address}/transactions", params)
            ]
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ChainUnreadable(f"transactions of {address}: not TronGrid's shape: {error!r}") from error

    def usdt_moved(self, address: str, since_ms: int, until_ms: int) -> dict[str, tuple[str, int]]:
        """tx id -> (recipient, amount) of every USDT Transfer event `address` sent in the window: what
        the token contract really moved (a reverted call emits none)."""
        params = {
            "contract_address": self.usdt_contract,
            "min_timestamp": since_ms,
            "max_timestamp": until_ms,
        }
        try:
            return {
                str(event["transaction_id"]): (base58(event["to"]), int(event["value"]))
                for event in self._pages(f"/v1/accounts/{address}/transactions/trc20", params)
                if base58(event["from"]) == address
            }
        except (KeyError, TypeError, ValueError) as error:
            raise ChainUnreadable(f"TRC20 transfers of {address}: not TronGrid's shape: {error!r}") from error
