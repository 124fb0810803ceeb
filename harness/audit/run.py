"""One audit end to end: read both sides, reconcile, report. `tronops audit`, `tronops torture` and
the tests' audit after every end-to-end test all come through `audit`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.audit.chain import ChainTx, TronGrid
from harness.audit.checks import ChainSide, reconcile
from harness.audit.findings import KINDS, Finding
from harness.audit.ledger import AdminApi, LedgerSide, ms_iso
from harness.waiting import wait_for

# An operation submitted this long before the window can still land inside it (a transaction lives
# up to 24 h on TRON): the ledger is read from that far back so its transactions are not "unknown".
DEFAULT_LOOKBACK_MS = 24 * 3600 * 1000
# The admin API is rate-limited per user like any route group: settling polls it gently.
SETTLE_POLL_S = 1.0


@dataclass(frozen=True)
class Report:
    since_ms: int
    until_ms: int
    operations: int
    wallets: int
    chain_transactions: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        return {kind: sum(f.kind == kind for f in self.findings) for kind in KINDS}

    def summary(self) -> str:
        verdict = "clean" if self.clean else f"{len(self.findings)} finding(s)"
        return (
            f"audited {self.operations} operations, {self.wallets} wallets and {self.chain_transactions} "
            f"chain transactions from {ms_iso(self.since_ms)} to {ms_iso(self.until_ms)}: {verdict}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "since": ms_iso(self.since_ms),
            "until": ms_iso(self.until_ms),
            "operations": self.operations,
            "wallets": self.wallets,
            "chain_transactions": self.chain_transactions,
            "counts": self.counts(),
            "findings": [f.as_dict() for f in self.findings],
        }


def read_chain(grid: TronGrid, ledger: LedgerSide, since_ms: int, until_ms: int) -> ChainSide:
    sent: dict[str, ChainTx] = {}
    usdt: dict[str, tuple[str, int]] = {}
    for address in ledger.wallets:
        mine = grid.sent(address, since_ms, until_ms)
        sent.update((tx.tx_id, tx) for tx in mine)
        if any(tx.currency == "USDT" for tx in mine):  # what the token really moved, by its events
            usdt.update(grid.usdt_moved(address, since_ms, until_ms))
    return ChainSide(sent, usdt)


def audit_sides(
    ledger: LedgerSide,
    grid: TronGrid,
    *,
    since_ms: int,
    stuck_after_ms: int,
    reread: Callable[[], LedgerSide] | None = None,
) -> Report:
    until_ms = int(time.time() * 1000)
    chain = read_chain(grid, ledger, since_ms, until_ms)
    if reread is not None and not chain.sent.keys() <= ledger.tx_ids():
        # The ledger is paged by offset in submission order, and a request stamps its operation before
        # it inserts it: under traffic an insert can land on a page already read. Every transaction's
        # operation is stored before it is signed, so a read taken after the chain's holds it if it
        # exists at all; only what neither read holds is unknown to the ledger. That later read only
        # attributes: what it shows completed may have landed after the chain was read.
        ledger = ledger.merged(reread())
    findings = reconcile(ledger, chain, since_ms=since_ms, now_ms=until_ms, stuck_after_ms=stuck_after_ms)
    audited = sum(op.submitted_ms >= since_ms for op in ledger.operations)
    return Report(since_ms, until_ms, audited, len(ledger.wallets), len(chain.sent), findings)


def audit(
    service_url: str,
    token: str,
    chain_url: str,
    usdt_contract: str,
    *,
    since_ms: int,
    stuck_after_ms: int,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
    settle_s: float = 0.0,
) -> Report:
    """Audit the window from `since_ms` to now. With `settle_s`, first wait up to that long for every
    operation in the window to be final (what a test wants before it judges); whatever is still
    unfinished after `stuck_after_ms` is a finding. Raises LedgerUnreadable / ChainUnreadable when a
    side cannot be read."""
    admin, grid = AdminApi(service_url, token), TronGrid(chain_url, usdt_contract)
    try:
        # Still unfinished after settling: reported as stuck below, with the operations named.
        with contextlib.suppress(TimeoutError):
            if settle_s > 0:
                wait_for(
                    lambda: not admin.read(since_ms).unfinished(),
                    settle_s,
                    "every operation in the window to be final",
                    interval=SETTLE_POLL_S,
                )
        ledger = admin.read(since_ms - lookback_ms)
        return audit_sides(
            ledger,
            grid,
            since_ms=since_ms,
            stuck_after_ms=stuck_after_ms,
            reread=lambda: admin.read(since_ms - lookback_ms),
        )
    finally:
        admin.close()
        grid.close()
