"""The chain as the devnet's full-node API shows it: every transaction sent from an address, and what
a transfer moved. Money checks compare this with what the service's ledger says."""

from __future__ import annotations

from typing import Any

from tronpy import keys

from harness.clients.devnet import Devnet

TRC20_TRANSFER = "a9059cbb"


class ChainScanner:
    """Reads every block once, keeping the transactions sent from each address."""

    def __init__(self, devnet: Devnet) -> None:
        self.devnet = devnet
        self.next_block = 0
        self.sent: dict[str, list[dict[str, Any]]] = {}

    def catch_up(self) -> None:
        head = int(self.devnet.node("wallet/getnowblock", {})["block_header"]["raw_data"]["number"])
        while self.next_block <= head:
            block = self.devnet.node("wallet/getblockbynum", {"num": self.next_block})
            for tx in block.get("transactions", []):
                owner = tx["raw_data"]["contract"][0]["parameter"]["value"]["owner_address"]
                self.sent.setdefault(_base58(owner), []).append(tx)
            self.next_block += 1


def _base58(address: str) -> str:
    return address if address.startswith("T") else str(keys.to_base58check_address(address))


def moved(tx: dict[str, Any]) -> tuple[str, int]:
    """(recipient, amount) a transfer transaction carries, TRX or TRC20."""
    value = tx["raw_data"]["contract"][0]["parameter"]["value"]
    if "data" in value and value["data"].startswith(TRC20_TRANSFER):
        data = value["data"]
        return _base58("41" + data[8 + 24 : 8 + 64]), int(data[8 + 64 : 8 + 128], 16)
    return _base58(value.get("to_address", "")), int(value.get("amount", 0))
