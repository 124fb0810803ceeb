"""The money audit run after every test that moves money: the ledger and the chain must agree.

- nothing accepted is lost: every operation the service accepted reaches a final state;
- nothing is paid twice: no two operations share a transaction, and every transaction sent from a
  service wallet on chain belongs to exactly one operation in the ledger;
- the ledger tells the truth: every completed operation's transaction is confirmed on chain and
  moved exactly the recorded amount to the recorded address; a failed one moved nothing.
"""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient
from tronpy import keys

from tests.support.clients import Devnet
from tests.support.waiting import wait_for

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


def audit(
    mongo_url: str, database_prefix: str, devnet: Devnet, scanner: ChainScanner, settle_timeout: float = 60
) -> int:
    """Run every check over all the service's databases (name starting with the prefix);
    return how many operations were audited."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        databases = [
            client[name] for name in client.list_database_names() if name.startswith(database_prefix)
        ]

        def unsettled() -> int:
            return sum(
                db.operations.count_documents({"status": {"$in": ["pending", "processing"]}})
                for db in databases
            )

        wait_for(lambda: unsettled() == 0, settle_timeout, "every accepted operation to reach a final state")
        operations = [op for db in databases for op in db.operations.find()]
        by_tx: dict[str, str] = {}
        for op in operations:
            if op.get("tx_id"):
                assert op["tx_id"] not in by_tx, (
                    f"operations {by_tx.get(op['tx_id'])} and {op['_id']} share a tx"
                )
                by_tx[op["tx_id"]] = op["_id"]
        wallets = {w["address"] for db in databases for w in db.wallets.find()}
        scanner.catch_up()
        on_chain = {tx["txID"]: tx for address in wallets for tx in scanner.sent.get(address, [])}
        unrecorded = set(on_chain) - set(by_tx)
        assert not unrecorded, f"transactions from service wallets that no operation records: {unrecorded}"
        for op in operations:
            tx = on_chain.get(op.get("tx_id") or "")
            info = devnet.node("walletsolidity/gettransactioninfobyid", {"value": op["tx_id"]}) if tx else {}
            succeeded = bool(info) and info.get("receipt", {}).get("result", "SUCCESS") == "SUCCESS"
            if op["status"] == "completed":
                assert tx is not None and succeeded, f"completed operation {op['_id']} has no confirmed tx"
                if op["kind"] in ("payout", "payment", "refund", "usdt_transfer"):
                    assert moved(tx) == (op["to_address"], op["amount"]), f"{op['_id']} moved other money"
            else:
                assert not succeeded, f"{op['status']} operation {op['_id']} has a successful tx on chain"
        return len(operations)
    finally:
        client.close()
