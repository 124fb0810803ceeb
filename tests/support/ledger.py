"""The money audit run after every test that moves money: the ledger and the chain must agree.

It reads the reference service's store directly (a test of that implementation, not of the contract);
the chain side is the harness's (harness/chain.py).

- nothing accepted is lost: every operation the service accepted reaches a final state;
- nothing is paid twice: no two operations share a transaction, and every transaction sent from a
  service wallet on chain belongs to exactly one operation in the ledger;
- the ledger tells the truth: every completed operation's transaction is confirmed on chain and
  moved exactly the recorded amount to the recorded address; a failed one moved nothing.
"""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient

from harness.chain import ChainScanner, moved
from harness.clients.devnet import Devnet
from harness.waiting import wait_for


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
