"""/api/v1/admin (role admin): the ledger and wallets an auditor reconciles, and the payout kill switch."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from quart import Blueprint

from service import metrics
from service.auth import principal, requires
from service.clock import iso, now_ms
from service.errors import invalid
from service.money import format_amount
from service.operations import SEND_WINDOW_MS
from service.ports.store import Doc, Store
from service.runtime import ports
from service.validation import Body, Page, query_time_window

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")
SETTLE_POLL_S = 0.05


def ledger_entry(op: Doc) -> dict[str, Any]:
    """One money operation as an auditor needs it: what, how much, between whom, and which transaction."""
    return {
        "operation_id": op["_id"],
        "kind": op["kind"],
        "status": op["status"],
        "amount": format_amount(op["amount"]),
        "currency": op["currency"],
        "from_address": op.get("from_address"),
        "to_address": op.get("to_address"),
        "tx_id": op.get("tx_id"),
        "replaced_tx_ids": list(op.get("replaced_tx_ids") or []),
        "payment_id": op.get("payment_id"),
        "block_height": op.get("block_height"),
        "fee": None if op.get("fee") is None else format_amount(op["fee"]),
        "failure_reason": op.get("failure_reason"),
        "submitted_at": iso(op["submitted_at"]),
        "completed_at": iso(op.get("completed_at")),
    }


def wallet_entry(wallet: Doc) -> dict[str, Any]:
    return {
        "wallet_id": wallet["_id"],
        "user_id": wallet["user_id"],
        "address": wallet["address"],
        "currency": wallet["currency"],
        "is_active": bool(wallet["is_active"]),
        "deleted": bool(wallet["deleted"]),  # nx-27017 may hand a stored bool back as 1
        "created_at": iso(wallet["created_at"]),
    }


def freeze_view(state: Doc) -> dict[str, Any]:
    return {
        "frozen": bool(state["frozen"]),
        "reason": state.get("reason"),
        "changed_at": iso(state.get("changed_at")),
        "changed_by": state.get("changed_by"),
    }


@bp.get("/ledger")
@requires("admin")
async def ledger() -> dict[str, Any]:
    window = query_time_window("since", "until")
    page = Page()
    items, total = await ports().store.ledger(window, page.skip, page.limit)
    return {"operations": [ledger_entry(op) for op in items], "pagination": page.envelope(total)}


@bp.get("/wallets")
@requires("admin")
async def wallets() -> dict[str, Any]:
    page = Page()
    items, total = await ports().store.all_wallets(page.skip, page.limit)
    return {"wallets": [wallet_entry(w) for w in items], "pagination": page.envelope(total)}


@bp.get("/payouts/freeze")
@requires("admin")
async def get_freeze() -> dict[str, Any]:
    return freeze_view(await ports().store.payout_freeze())


@bp.put("/payouts/freeze")
@requires("admin")
async def set_freeze() -> dict[str, Any]:
    body = await Body.load()
    frozen = body.boolean("frozen")
    if frozen is None:
        raise invalid("frozen", "is required: true stops every outbound money move, false resumes them")
    reason = body.require_string("reason", max_len=512)
    store = ports().store
    state = await store.set_payout_freeze(frozen, reason, principal().user_id)
    metrics.PAYOUTS_FROZEN.set(1 if frozen else 0)
    if frozen:
        await _until_sends_settle(store)
    return freeze_view(state)


async def _until_sends_settle(store: Store) -> None:
    """A send that read "not frozen" just before the switch flipped is still on its way: answer only
    once it has settled, so whoever froze payouts knows that after this answer nothing leaves."""
    deadline = time.monotonic() + SEND_WINDOW_MS / 1000
    while await store.sends_in_flight(now_ms() - SEND_WINDOW_MS) and time.monotonic() < deadline:
        await asyncio.sleep(SETTLE_POLL_S)
