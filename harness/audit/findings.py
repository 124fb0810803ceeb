"""What an audit can find, one line each."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PAID_TWICE = "paid_twice"  # two successful transactions for one operation, or one tx for two operations
ACCEPTED_BUT_LOST = (
    "accepted_but_lost"  # the ledger says done (or the client was told accepted); chain has nothing
)
UNKNOWN_TO_LEDGER = "unknown_to_ledger"  # a service wallet sent a transaction no operation records
AMOUNT_MISMATCH = "amount_mismatch"  # the chain moved other money than the ledger says
STUCK = "stuck"  # accepted and not final after the allowed time
FEE_BURNED_ON_REVERT = "fee_burned_on_revert"  # a service wallet paid a fee for a call that reverted
KINDS = (PAID_TWICE, ACCEPTED_BUT_LOST, UNKNOWN_TO_LEDGER, AMOUNT_MISMATCH, STUCK, FEE_BURNED_ON_REVERT)


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    operation_id: str | None = None
    tx_ids: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        where = " ".join(
            part
            for part in (
                f"operation={self.operation_id}" if self.operation_id else "",
                f"tx={','.join(self.tx_ids)}" if self.tx_ids else "",
            )
            if part
        )
        return f"FINDING {self.kind} {where}: {self.message}".replace("  ", " ")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tx_ids": list(self.tx_ids)}
