"""The reconciliation itself: pure, from the two sides already read.

- nothing paid twice: a transaction belongs to one operation, and an operation has at most one
  successful transaction among all it ever signed (the one in flight and those it replaced);
- nothing accepted lost: a completed operation's transaction is on chain and succeeded; nothing stays
  pending or processing past the allowed time;
- the ledger tells the truth: a completed transfer moved exactly its amount to its address in its
  currency (USDT by the token's own Transfer event), a failed or cancelled one moved nothing, and
  every transaction a service wallet sent belongs to an operation;
- fees: a service wallet that burned TRX on a call that reverted lost money.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.audit.chain import ChainTx
from harness.audit.findings import (
    ACCEPTED_BUT_LOST,
    AMOUNT_MISMATCH,
    FEE_BURNED_ON_REVERT,
    PAID_TWICE,
    STUCK,
    UNKNOWN_TO_LEDGER,
    Finding,
)
from harness.audit.ledger import TRANSFERS, UNFINISHED, LedgerSide, Operation


@dataclass(frozen=True)
class ChainSide:
    sent: dict[str, ChainTx]  # tx id -> what a service wallet sent, in the window
    usdt_moved: dict[str, tuple[str, int]]  # tx id -> (recipient, amount) of its USDT Transfer event


def _moved(op: Operation, tx: ChainTx, chain: ChainSide) -> tuple[str | None, int, str]:
    if tx.currency == "USDT":
        to, amount = chain.usdt_moved.get(tx.tx_id, (tx.to_address, 0))
        return to, amount, "USDT"
    return tx.to_address, tx.trx_amount, tx.currency or "?"


def reconcile(
    ledger: LedgerSide, chain: ChainSide, *, since_ms: int, now_ms: int, stuck_after_ms: int
) -> list[Finding]:
    findings: list[Finding] = []
    reported: set[tuple[str, str]] = set()
    owner_of: dict[str, str] = {}
    signed: dict[str, set[str]] = {}  # operation -> every transaction either read says it signed
    for op in (*ledger.operations, *ledger.later):
        signed.setdefault(op.operation_id, set()).update(op.tx_ids)
        for tx_id in op.tx_ids:
            other = owner_of.setdefault(tx_id, op.operation_id)
            if other != op.operation_id and (tx_id, op.operation_id) not in reported:
                reported.add((tx_id, op.operation_id))
                findings.append(
                    Finding(
                        PAID_TWICE,
                        f"operations {other} and {op.operation_id} share one transaction",
                        op.operation_id,
                        (tx_id,),
                    )
                )
    for op in ledger.operations:
        if op.submitted_ms >= since_ms:
            findings.extend(_operation(op, signed[op.operation_id], chain, now_ms, stuck_after_ms))
    findings.extend(_wallet_transactions(chain.sent.values(), owner_of))
    return findings


def _operation(
    op: Operation, signed: set[str], chain: ChainSide, now_ms: int, stuck_after_ms: int
) -> Iterable[Finding]:
    if op.status in UNFINISHED and now_ms - op.submitted_ms > stuck_after_ms:
        minutes = (now_ms - op.submitted_ms) / 60_000
        yield Finding(
            STUCK,
            f"{op.kind} {op.status} for {minutes:.1f} min",
            op.operation_id,
            tuple(op.tx_ids),
            {"status": op.status},
        )
    landed = [chain.sent[t] for t in sorted(signed) if t in chain.sent and chain.sent[t].succeeded]
    if len(landed) > 1:
        yield Finding(
            PAID_TWICE,
            f"{op.kind} has {len(landed)} successful transactions on chain",
            op.operation_id,
            tuple(t.tx_id for t in landed),
        )
    if op.status == "completed":
        final = chain.sent.get(op.tx_id or "")
        if final is None or not final.succeeded:
            seen = "not on chain" if final is None else f"on chain as {final.result}"
            yield Finding(
                ACCEPTED_BUT_LOST,
                f"completed {op.kind} whose transaction is {seen}",
                op.operation_id,
                tuple(op.tx_ids),
            )
        elif op.kind in TRANSFERS:
            moved = _moved(op, final, chain)
            if moved != (op.to_address, op.amount, op.currency):
                yield Finding(
                    AMOUNT_MISMATCH,
                    f"ledger: {op.amount} {op.currency} to {op.to_address}; "
                    f"chain: {moved[1]} {moved[2]} to {moved[0]}",
                    op.operation_id,
                    (final.tx_id,),
                )
    elif op.status in ("failed", "cancelled") and landed and op.kind in TRANSFERS:
        moved = _moved(op, landed[0], chain)
        yield Finding(
            AMOUNT_MISMATCH,
            f"ledger: {op.status}, moved nothing; chain: {moved[1]} {moved[2]} to {moved[0]}",
            op.operation_id,
            (landed[0].tx_id,),
        )


def _wallet_transactions(sent: Iterable[ChainTx], owner_of: dict[str, str]) -> Iterable[Finding]:
    for tx in sent:
        if tx.tx_id not in owner_of:
            yield Finding(
                UNKNOWN_TO_LEDGER,
                f"{tx.owner} sent it ({tx.result}) and no operation records it",
                None,
                (tx.tx_id,),
                {"from": tx.owner, "to": tx.to_address},
            )
        if not tx.succeeded and tx.fee > 0:
            yield Finding(
                FEE_BURNED_ON_REVERT,
                f"{tx.owner} burned {tx.fee} SUN on a call that ended {tx.result}",
                owner_of.get(tx.tx_id),
                (tx.tx_id,),
                {"fee_sun": tx.fee},
            )
