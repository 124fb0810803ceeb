"""/api/v1/usdt: TRC20 USDT transfers, approvals, balances and allowances."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from service import errors, metrics
from service.auth import principal, requires
from service.clock import iso, now_ms
from service.errors import ApiError
from service.idempotency import derived_id, idempotent
from service.money import format_amount
from service.operations import new_operation
from service.ports.chain import ChainUnavailable
from service.ports.store import Doc
from service.routes.common import chain_error, owned_wallet, submit_inline, to_itself
from service.routes.wallets import cached_balance, transaction_view
from service.runtime import ports, runtime
from service.validation import Body, Page, parse_address, parse_uuid, query_time_window

bp = Blueprint("usdt", __name__, url_prefix="/api/v1/usdt")
TRANSFER_STATUS = {
    "pending": "pending",
    "processing": "submitted",
    "completed": "confirmed",
    "failed": "failed",
}


def transfer_view(op: Doc) -> dict[str, Any]:
    return {
        "transfer_id": op["_id"],
        "tx_id": op.get("tx_id"),
        "status": TRANSFER_STATUS[op["status"]],
        "amount": format_amount(op["amount"]),
        "from_address": op["from_address"],
        "to_address": op["to_address"],
        "memo": op.get("memo"),
        "submitted_at": iso(op["submitted_at"]),
        "confirmed_at": iso(op.get("completed_at")) if op["status"] == "completed" else None,
        "failure_reason": op.get("failure_reason"),
    }


@bp.post("/transfer")
@requires()
@idempotent
async def transfer() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    source = body.address("from_address")
    to = body.address("to_address")
    amount = body.require_amount()
    memo = body.string("memo", required=False, max_len=512)
    user = principal().user_id
    await owned_wallet(user, address=source, field="from_address")
    if source == to:
        raise to_itself("to_address", "from_address")
    op, created = await submit_inline(
        runtime().processor,
        new_operation(
            "usdt_transfer",
            derived_id("usdt_transfer"),
            user,
            from_address=source,
            to_address=to,
            amount=amount,
            currency="USDT",
            memo=memo,
        ),
        errors.USDT_INSUFFICIENT_BALANCE,
    )
    if created:
        metrics.USDT_TRANSFERS.labels(status="submitted").inc()
    return transfer_view(op), 202


@bp.get("/transfers/<transfer_id>")
@requires()
async def get_transfer(transfer_id: str) -> dict[str, Any]:
    op = await ports().store.operation(
        parse_uuid(transfer_id, "transfer_id"), kind="usdt_transfer", user_id=principal().user_id
    )
    if op is None:
        raise ApiError(404, errors.USDT_TRANSFER_NOT_FOUND, "transfer_id: no transfer of yours with that id")
    return transfer_view(op)


@bp.get("/balance/<address>")
@requires()
async def balance(address: str) -> dict[str, Any]:
    amount = await cached_balance(parse_address(address, "address"), "USDT")
    return {"address": address, "balance": format_amount(amount), "last_updated": iso(now_ms())}


@bp.get("/transactions/<address>")
@requires()
async def transactions(address: str) -> dict[str, Any]:
    parse_address(address, "address")
    page = Page()
    query: Doc = {
        "currency": "USDT",
        "kind": {"$in": ["usdt_transfer", "payout", "payment", "refund"]},
        "$or": [{"from_address": address}, {"to_address": address}],
        "user_id": principal().user_id,
    }
    if window := query_time_window("start_time", "end_time"):
        query["submitted_at"] = window
    items, total = await ports().store.find_operations(query, page.skip, page.limit)
    return {
        "address": address,
        "transactions": [transaction_view(op) for op in items],
        "pagination": page.envelope(total),
    }


@bp.post("/approve")
@requires()
@idempotent
async def approve() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    owner = body.address("owner_address")
    spender = body.address("spender_address")
    amount = body.require_amount()
    user = principal().user_id
    await owned_wallet(user, address=owner, field="owner_address")
    if owner == spender:
        raise to_itself("spender_address", "owner_address")
    op, _ = await submit_inline(
        runtime().processor,
        new_operation(
            "usdt_approve",
            derived_id("usdt_approve"),
            user,
            from_address=owner,
            to_address=spender,
            amount=amount,
            currency="USDT",
        ),
    )
    return {
        "approval_id": op["_id"],
        "tx_id": op.get("tx_id"),
        "status": TRANSFER_STATUS[op["status"]],
        "owner_address": owner,
        "spender_address": spender,
        "amount": format_amount(amount),
        "submitted_at": iso(op["submitted_at"]),
    }, 202


@bp.get("/allowance")
@requires()
async def allowance() -> dict[str, Any]:
    owner = parse_address(request.args.get("owner", ""), "owner")
    spender = parse_address(request.args.get("spender", ""), "spender")
    try:
        amount = await ports().chain.usdt_allowance(owner, spender)
    except ChainUnavailable as exc:
        raise chain_error(exc) from None
    return {
        "owner_address": owner,
        "spender_address": spender,
        "allowance": format_amount(amount),
        "last_updated": iso(now_ms()),
    }
