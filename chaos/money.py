"""The money audit after an experiment: what its own payers saw (each Idempotency-Key answered with one
payout, every accepted payout final), then the whole service's ledger against the chain over the
experiment's window (`tronops audit`'s code: nothing paid twice, nothing accepted lost, no chain
transaction from a service wallet unknown to the ledger, amounts as recorded)."""

from __future__ import annotations

from typing import Any

from harness.audit.chain import ChainUnreadable
from harness.audit.ledger import LedgerUnreadable
from harness.audit.run import audit as ledger_against_chain
from harness.clients.api import Api
from harness.target import StackState
from harness.traffic import Payers
from harness.waiting import WaitTimeout

FINAL = ("completed", "failed")


def audit(payers: Payers, api: Api, stack: StackState | None, since_ms: int, timeout_s: float) -> list[str]:
    """Findings, one line each; none when the money is right. `stack` is None on a target whose chain
    the harness cannot read (Kubernetes: run `tronops audit --chain-url` against TronGrid there)."""
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
    if stack is None:
        return [
            *findings,
            "ledger not audited against the chain: the target exposes no TRON node to the harness",
        ]
    try:
        report = ledger_against_chain(
            api.base_url,
            api.token,
            stack.url("devnet"),
            stack.usdt_contract,
            since_ms=since_ms,
            stuck_after_ms=int(timeout_s * 1000),
        )
    except (LedgerUnreadable, ChainUnreadable) as error:
        return [*findings, f"ledger not audited against the chain: {error}"]
    return findings + [finding.line() for finding in report.findings]
