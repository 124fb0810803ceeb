"""The service's side of the audit: every money operation and every wallet it holds, as the admin API
(shared/API.md, /admin) shows them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

BASE_UNITS = Decimal(1_000_000)  # TRX (SUN) and USDT (6 decimals) alike
PAGE_LIMIT = 100  # the contract's largest page
RATE_LIMIT_WAITS = 4  # answers of 429 waited out before giving up
MAX_RETRY_AFTER_S = 60.0
UNFINISHED = ("pending", "processing")
TRANSFERS = ("payout", "payment", "refund", "usdt_transfer")  # kinds that move `amount` to `to_address`


class LedgerUnreadable(RuntimeError):
    """The admin API did not give the ledger (down, wrong token, not the contract); says which."""


@dataclass(frozen=True)
class Operation:
    operation_id: str
    kind: str
    status: str
    amount: int  # base units
    currency: str
    from_address: str | None
    to_address: str | None
    tx_id: str | None
    replaced_tx_ids: tuple[str, ...]
    submitted_ms: int

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Operation:
        return cls(
            operation_id=str(entry["operation_id"]),
            kind=str(entry["kind"]),
            status=str(entry["status"]),
            amount=int(Decimal(str(entry["amount"])) * BASE_UNITS),
            currency=str(entry["currency"]),
            from_address=entry.get("from_address"),
            to_address=entry.get("to_address"),
            tx_id=entry.get("tx_id"),
            replaced_tx_ids=tuple(entry.get("replaced_tx_ids") or ()),
            submitted_ms=iso_ms(str(entry["submitted_at"])),
        )

    @property
    def tx_ids(self) -> tuple[str, ...]:
        """Every transaction ever signed for it: the one in flight (or final) and those it replaced."""
        return (*self.replaced_tx_ids, *([self.tx_id] if self.tx_id else []))


@dataclass(frozen=True)
class LedgerSide:
    operations: tuple[Operation, ...]
    wallets: tuple[str, ...]  # addresses the service holds keys for (soft-deleted ones too)
    # Operations as a read taken after the chain's shows them: they name who sent a transaction, but
    # are not judged against that chain read (what they say now may have landed after it was taken).
    later: tuple[Operation, ...] = ()

    def unfinished(self) -> list[Operation]:
        return [op for op in self.operations if op.status in UNFINISHED]

    def tx_ids(self) -> set[str]:
        return {tx_id for op in (*self.operations, *self.later) for tx_id in op.tx_ids}

    def merged(self, later: LedgerSide) -> LedgerSide:
        """This read, judged, with a later read beside it to attribute transactions, every wallet.

        Only this read was taken before the chain's, so only its statuses hold against it: an
        operation the later read shows completed may have landed after the chain was read."""
        return LedgerSide(
            self.operations,
            tuple(dict.fromkeys((*self.wallets, *later.wallets))),
            (*self.later, *later.operations),
        )


def iso_ms(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def ms_iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


class AdminApi:
    """GET /api/v1/admin/ledger and /admin/wallets, every page, with an admin token."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        """One GET; a 429 is waited out as its Retry-After says (bounded), as the contract asks."""
        for _ in range(RATE_LIMIT_WAITS):
            try:
                response = self.http.get(path, params=params)
            except httpx.HTTPError as error:
                raise LedgerUnreadable(f"GET {path}: {error!r}") from error
            if response.status_code != 429:
                return response
            time.sleep(min(MAX_RETRY_AFTER_S, float(response.headers.get("Retry-After", "1"))))
        return response

    def _pages(self, path: str, key: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            response = self._get(path, {**params, "page": page, "limit": PAGE_LIMIT})
            if response.status_code != 200:
                hint = " (the token needs the admin role)" if response.status_code in (401, 403) else ""
                raise LedgerUnreadable(
                    f"GET {path} answered {response.status_code}{hint}: {response.text[:300]}"
                )
            body = response.json()
            yield from body[key]
            if page >= int(body["pagination"]["pages"]):
                return
            page += 1

    def read(self, since_ms: int) -> LedgerSide:
        """Operations submitted since `since_ms`, and every wallet."""
        try:
            operations = tuple(
                Operation.from_entry(e)
                for e in self._pages("/api/v1/admin/ledger", "operations", {"since": ms_iso(since_ms)})
            )
            wallets = tuple(str(w["address"]) for w in self._pages("/api/v1/admin/wallets", "wallets", {}))
        except (KeyError, TypeError, ValueError) as error:
            raise LedgerUnreadable(f"the admin API's answer is not the contract's: {error!r}") from error
        return LedgerSide(operations, wallets)
