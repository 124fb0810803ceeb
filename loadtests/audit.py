"""After a profile that moved money: every payout the run accepted reached a final state, exactly once.

Through the API only (GET /api/v1/payouts/{id} with an admin token): each accepted payout reaches
`completed`, `failed` or `cancelled` within the wait; each Idempotency-Key was answered with one payout
(a retry after a timeout got the first one back, not a second payout); no two keys share a payout; no
two completed payouts share a transaction: what a load run can prove from what it saw. The runner
then also runs the full money audit (ledger against chain, `tronops audit`'s code) over the run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

FINAL = ("completed", "failed", "cancelled")
POLL_S = 1.0
MAX_RETRY_AFTER_S = 30.0


@dataclass
class PayoutAudit:
    accepted: int = 0
    final: dict[str, int] = field(default_factory=dict)  # status -> count
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        finals = ", ".join(f"{n} {status}" for status, n in sorted(self.final.items())) or "none final"
        verdict = "PASS" if self.ok else "FAIL"
        return f"payout audit: {verdict}: {self.accepted} accepted, {finals}" + (
            "" if self.ok else "; " + "; ".join(self.problems[:5])
        )


def audit_payouts(
    base_url: str, token: str, accepted: list[list[str]], wait_s: float, say: Callable[[str], None] = print
) -> PayoutAudit:
    """`accepted` is [payout id, idempotency key] per 202 the run got."""
    audit = PayoutAudit()
    ids_by_key: dict[str, set[str]] = defaultdict(set)
    keys_by_id: dict[str, set[str]] = defaultdict(set)
    for payout_id, key in accepted:
        ids_by_key[key].add(payout_id)
        keys_by_id[payout_id].add(key)
    audit.accepted = len(keys_by_id)
    for key, ids in ids_by_key.items():
        if len(ids) > 1:
            audit.problems.append(f"key {key} was answered with {len(ids)} payouts: {sorted(ids)}")
    for payout_id, keys in keys_by_id.items():
        if len(keys) > 1:
            audit.problems.append(f"payout {payout_id} answered {len(keys)} different keys")
    if keys_by_id:
        say(f"audit: waiting up to {wait_s:.0f} s for {len(keys_by_id)} accepted payouts to be final ...")
    bodies = _final_bodies(base_url, token, sorted(keys_by_id), wait_s, audit)
    tx_owners: dict[str, list[str]] = defaultdict(list)
    for payout_id, body in bodies.items():
        audit.final[body["status"]] = audit.final.get(body["status"], 0) + 1
        if body["status"] == "completed":
            tx_owners[str(body.get("tx_id"))].append(payout_id)
    for tx_id, owners in tx_owners.items():
        if len(owners) > 1:
            audit.problems.append(f"transaction {tx_id} completes {len(owners)} payouts: {owners}")
    return audit


def _final_bodies(
    base_url: str, token: str, payout_ids: list[str], wait_s: float, audit: PayoutAudit
) -> dict[str, dict[str, Any]]:
    final: dict[str, dict[str, Any]] = {}
    pending = list(payout_ids)
    deadline = time.monotonic() + wait_s
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30.0) as http:
        while pending:
            still: list[str] = []
            pause = POLL_S
            for index, payout_id in enumerate(pending):
                answer = http.get(f"/api/v1/payouts/{payout_id}")
                if answer.status_code in (429, 503):
                    # Rate-limited (the run's own traffic shares the limits) or briefly unavailable:
                    # wait as the answer says, then go on where this sweep stopped.
                    still.extend(pending[index:])
                    pause = _retry_after(answer)
                    break
                if answer.status_code != 200:
                    audit.problems.append(f"payout {payout_id}: GET answered {answer.status_code}")
                    continue
                body = answer.json()
                if body.get("status") in FINAL:
                    final[payout_id] = body
                else:
                    still.append(payout_id)
            pending = still
            if pending and time.monotonic() >= deadline:
                audit.problems.append(
                    f"{len(pending)} accepted payouts not final after {wait_s:.0f} s, e.g. {pending[:3]}"
                )
                break
            if pending:
                time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
    return final


def _retry_after(answer: httpx.Response) -> float:
    try:
        return min(MAX_RETRY_AFTER_S, max(POLL_S, float(answer.headers.get("Retry-After", POLL_S))))
    except ValueError:
        return POLL_S
