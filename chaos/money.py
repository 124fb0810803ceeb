"""The money audit an experiment can do through the contract and the chain: every payout it made was
accepted once per key, reached a final state, and every chain transaction from its wallets is one of
those payouts, exactly once. (The contract-only audit of the whole service, `tronops audit`, is issue
9 and not built yet; this covers the experiment's own money moves.)"""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.chain import ChainScanner
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.traffic import Payers
from harness.waiting import WaitTimeout

FINAL = ("completed", "failed")


def audit(
    payers: Payers, wallets: list[dict[str, Any]], api: Api, devnet: Devnet | None, timeout_s: float
) -> list[str]:
    """Findings, one line each; none when the money is right."""
    findings = [
        f"Idempotency-Key {key} was answered with {len(ids)} different payouts {sorted(ids)}: paid twice"
        for key, ids in payers.keys.items()
        if len(ids) > 1
    ]
    finals: dict[str, dict[str, Any]] = {}
    for key, payout_id in payers.kept.items():
        try:
            finals[payout_id] = api.wait_status(f"/api/v1/payouts/{payout_id}", FINAL, timeout_s)
        except WaitTimeout:
            findings.append(f"payout {payout_id} (key {key}) accepted but not final after {timeout_s:g} s")
    if devnet is None:
        return [*findings, "chain not scanned: the target exposes no TRON node to the harness"]
    scanner = ChainScanner(devnet)
    scanner.catch_up()
    ours = {body.get("tx_id") for body in finals.values() if body.get("status") == "completed"}
    for wallet in wallets:
        sent = Counter(tx["txID"] for tx in scanner.sent.get(wallet["address"], []))
        findings += [f"transaction {txid} from {wallet['address']} is no payout of this run"
                     for txid in sent if txid not in ours]  # fmt: skip
        findings += [f"transaction {txid} is on the chain {n} times" for txid, n in sent.items() if n > 1]
    on_chain = {txid for w in wallets for txid in (tx["txID"] for tx in scanner.sent.get(w["address"], []))}
    findings += [
        f"completed payout tx {txid} is not on the chain" for txid in sorted(map(str, ours - on_chain))
    ]
    return findings
