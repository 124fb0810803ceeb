"""The reconciliation rules on their own (pure): each finding from the smallest ledger and chain that
shows it, and the quiet case. The e2e tests in this folder provoke them for real."""

from __future__ import annotations

import pytest

from harness.audit.chain import ChainTx
from harness.audit.checks import ChainSide, reconcile
from harness.audit.findings import (
    ACCEPTED_BUT_LOST,
    AMOUNT_MISMATCH,
    FEE_BURNED_ON_REVERT,
    PAID_TWICE,
    STUCK,
    UNKNOWN_TO_LEDGER,
)
from harness.audit.ledger import LedgerSide, Operation
from tronops.commands.audit import BadOption, since_ms

WALLET, TO = "TWalletxxxxxxxxxxxxxxxxxxxxxxxxxxx", "TRecipientxxxxxxxxxxxxxxxxxxxxxxxx"
NOW = 10_000_000


def op(
    status: str = "completed", tx: str | None = "t1", replaced: tuple[str, ...] = (), **kw: object
) -> Operation:
    fields: dict[str, object] = {
        "operation_id": "op1", "kind": "payout", "status": status, "amount": 1_000_000, "currency": "TRX",
        "from_address": WALLET, "to_address": TO, "tx_id": tx, "replaced_tx_ids": replaced,
        "submitted_ms": NOW - 60_000,
    }  # fmt: skip
    return Operation(**{**fields, **kw})  # type: ignore[arg-type]


def sent(
    tx_id: str = "t1", result: str = "SUCCESS", fee: int = 0, amount: int = 1_000_000, to: str = TO
) -> ChainTx:
    return ChainTx(tx_id, WALLET, result == "SUCCESS", result, fee, NOW - 30_000, to, amount, "TRX")


def kinds(operations: list[Operation], txs: list[ChainTx], stuck_after_ms: int = 600_000) -> list[str]:
    ledger = LedgerSide(tuple(operations), (WALLET,))
    chain = ChainSide({t.tx_id: t for t in txs}, {})
    findings = reconcile(ledger, chain, since_ms=0, now_ms=NOW, stuck_after_ms=stuck_after_ms)
    return sorted(f.kind for f in findings)


def test_a_ledger_that_matches_the_chain_is_clean() -> None:
    assert kinds([op()], [sent()]) == []


@pytest.mark.parametrize(
    ("operations", "txs", "expected"),
    [
        ([op(replaced=("t0",))], [sent("t0"), sent()], [PAID_TWICE]),
        ([op(), op(operation_id="op2")], [sent()], [PAID_TWICE]),
        ([op()], [], [ACCEPTED_BUT_LOST]),
        ([op()], [sent(result="REVERT")], [ACCEPTED_BUT_LOST]),
        ([op()], [sent(), sent("t9")], [UNKNOWN_TO_LEDGER]),
        ([op()], [sent(amount=2_000_000)], [AMOUNT_MISMATCH]),
        ([op()], [sent(to=WALLET)], [AMOUNT_MISMATCH]),
        ([op(status="failed")], [sent()], [AMOUNT_MISMATCH]),
        ([op(status="processing", submitted_ms=NOW - 3_600_000)], [], [STUCK]),
        ([op(status="failed")], [sent(result="OUT_OF_ENERGY", fee=8_000_000)], [FEE_BURNED_ON_REVERT]),
    ],
    ids=[
        "replaced-landed-too",
        "shared-tx",
        "lost",
        "completed-but-reverted",
        "unknown",
        "amount",
        "address",
        "failed-but-paid",
        "stuck",
        "fee-burned",
    ],
)
def test_each_finding(operations: list[Operation], txs: list[ChainTx], expected: list[str]) -> None:
    assert kinds(operations, txs) == expected


def test_an_unfinished_operation_within_the_limit_is_not_stuck() -> None:
    assert kinds([op(status="processing")], [], stuck_after_ms=120_000) == []


def test_since_takes_an_iso_time_or_a_span_and_names_what_to_write_otherwise() -> None:
    assert since_ms("2026-07-01T00:00:00Z", 0) == 1_782_864_000_000
    assert since_ms("30m", 3_600_000) == 1_800_000
    with pytest.raises(BadOption, match="ISO time"):
        since_ms("last tuesday", 0)


def later_kinds(first: list[Operation], later: list[Operation], txs: list[ChainTx]) -> list[str]:
    """A first ledger read, the chain read after it, and a ledger read taken after the chain's."""
    ledger = LedgerSide(tuple(first), (WALLET,)).merged(LedgerSide(tuple(later), (WALLET,)))
    chain = ChainSide({t.tx_id: t for t in txs}, {})
    findings = reconcile(ledger, chain, since_ms=0, now_ms=NOW, stuck_after_ms=600_000)
    return sorted(f.kind for f in findings)


@pytest.mark.parametrize(
    ("first", "later", "txs", "expected"),
    [
        # Completed only after the chain was read: its transaction may have landed after that read.
        ([op(status="processing")], [op()], [], []),
        ([], [op()], [], []),
        # A later read still names who sent a transaction the first read did not know of.
        ([op(status="processing", tx=None)], [op()], [sent()], []),
        # Re-signed between the reads, and both transactions landed: paid twice whenever seen.
        ([op(status="processing")], [op(tx="t2", replaced=("t1",))], [sent(), sent("t2")], [PAID_TWICE]),
        # What the first read says completed is judged against the chain read after it.
        ([op()], [op()], [], [ACCEPTED_BUT_LOST]),
        ([op()], [op(), op(operation_id="op2")], [sent()], [PAID_TWICE]),
        ([op()], [], [sent(), sent("t9")], [UNKNOWN_TO_LEDGER]),
    ],
    ids=[
        "completed-after-the-chain-read",
        "new-after-the-chain-read",
        "attributed-by-the-later-read",
        "re-signed-between-reads-both-landed",
        "lost-before-the-chain-read",
        "shared-tx-in-the-later-read",
        "unknown-to-both",
    ],
)
def test_a_ledger_read_after_the_chain_read_attributes_but_is_not_judged(
    first: list[Operation], later: list[Operation], txs: list[ChainTx], expected: list[str]
) -> None:
    assert later_kinds(first, later, txs) == expected
