"""/api/v1/payouts: queued here, carried to the chain by the worker (never inside the request)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from service import errors, metrics
from service.auth import principal, requires
from service.clock import iso, now_ms
from service.errors import ApiError, invalid
from service.idempotency import derived_id, idempotent
from service.money import format_amount
from service.operations import PRIORITY_RANK, new_operation
from service.ports.store import Doc
from service.read_ahead import reads_ahead
from service.routes.common import owned_wallet, source_wallet_ahead, store_funded, to_itself
from service.runtime import ports
from service.validation import Body, Page, parse_uuid, query_choice, query_time_window

bp = Blueprint("payouts", __name__, url_prefix="/api/v1/payouts")
ROLES = ("payout_manager", "admin")
CURRENCIES = ("TRX", "USDT")
STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
MAX_BATCH = 100
# What a caller may expect: a few blocks to sign, include and confirm, more when queued behind others.
EXPECTED_SECONDS = {"high": 30, "normal": 60, "low": 300}


def payout_view(op: Doc) -> dict[str, Any]:
    return {
        "payout_id": op["_id"],
        "status": op["status"],
        "amount": format_amount(op["amount"]),
        "currency": op["currency"],
        "recipient_address": op["to_address"],
        "priority": op["priority"],
        "memo": op.get("memo"),
        "source_wallet_id": op["wallet_id"],
        "batch_id": op.get("batch_id"),
        "estimated_completion": iso(op["submitted_at"] + 1000 * EXPECTED_SECONDS[op["priority"]]),
        "submitted_at": iso(op["submitted_at"]),
        "tx_id": op.get("tx_id"),
        "completed_at": iso(op.get("completed_at")) if op["status"] == "completed" else None,
        "cancelled_at": iso(op.get("completed_at")) if op["status"] == "cancelled" else None,
        "failure_reason": op.get("failure_reason"),
    }


def _read_payout(item: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    body = Body(item)
    try:
        return {
            "recipient_address": body.address("recipient_address"),
            "amount": body.require_amount(),
            "currency": body.choice("currency", CURRENCIES),
            "memo": body.string("memo", required=False, max_len=512),
            "priority": body.choice("priority", PRIORITY_RANK, default="normal"),
            "source_wallet_id": body.uuid("source_wallet_id"),
        }
    except ApiError as err:
        if prefix:
            err.message = f"{prefix}.{err.message}"
            err.details["field"] = f"{prefix}.{err.details.get('field', '')}"
        raise


async def _queue(request: dict[str, Any], op_id: str, batch_id: str | None = None) -> Doc:
    user = principal().user_id
    wallet = await owned_wallet(user, wallet_id=request["source_wallet_id"], field="source_wallet_id")
    if wallet["currency"] != request["currency"]:
        raise ApiError(
            422,
            errors.WALLET_CURRENCY_MISMATCH,
            f"source_wallet_id: the wallet holds {wallet['currency']}, not {request['currency']}",
        )
    if wallet["address"] == request["recipient_address"]:
        raise to_itself("recipient_address", "source_wallet_id")
    op, _ = await store_funded(
        new_operation(
            "payout",
            op_id,
            user,
            wallet_id=wallet["_id"],
            from_address=wallet["address"],
            to_address=request["recipient_address"],
            amount=request["amount"],
            currency=request["currency"],
            memo=request["memo"],
            priority=request["priority"],
            batch_id=batch_id,
        ),
        errors.PAYOUT_INSUFFICIENT_BALANCE,
    )
    return op


@bp.post("/initiate")
@requires(*ROLES)
@reads_ahead(source_wallet_ahead)
@idempotent
async def initiate() -> tuple[dict[str, Any], int]:
    request = _read_payout((await Body.load()).data)
    op = await _queue(request, derived_id("payout"))
    view = payout_view(op)
    return {
        key: view[key]
        for key in (
            "payout_id",
            "status",
            "amount",
            "currency",
            "recipient_address",
            "priority",
            "estimated_completion",
            "submitted_at",
        )
    }, 202


@bp.get("/<id:payout_id>")
@requires(*ROLES)
async def get_payout(payout_id: str) -> dict[str, Any]:
    return payout_view(await _visible(parse_uuid(payout_id, "payout_id")))


async def _visible(payout_id: str) -> Doc:
    match = {} if "admin" in principal().roles else {"user_id": principal().user_id}
    op = await ports().store.operation(payout_id, kind="payout", **match)
    if op is None:
        raise ApiError(404, errors.PAYOUT_NOT_FOUND, "payout_id: no payout of yours with that id")
    return op


@bp.post("/batch")
@requires(*ROLES)
@idempotent
async def batch() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    items = body.data.get("payouts")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
        raise invalid("payouts", f"must be a list of 1 to {MAX_BATCH} payouts")
    memo = body.string("batch_memo", required=False, max_len=512)
    requests = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"payouts[{index}]", "must be an object")
        requests.append(_read_payout(item, f"payouts[{index}]"))
    batch_id = derived_id("batch")
    payout_ids: list[str] = []
    failures: list[dict[str, Any]] = []
    for index, request in enumerate(requests):
        try:
            op = await _queue(request, derived_id("batch-payout", index), batch_id)
            payout_ids.append(op["_id"])
        except ApiError as err:
            if err.status >= 500:
                raise
            failures.append({"index": index, "code": err.code, "message": err.message})
    return {
        "batch_id": batch_id,
        "batch_memo": memo,
        "payout_count": len(requests),
        "successful_count": len(payout_ids),
        "failed_count": len(failures),
        "payout_ids": payout_ids,
        "failures": failures,
        "submitted_at": iso(now_ms()),
    }, 202


@bp.get("/history")
@requires(*ROLES)
async def history() -> dict[str, Any]:
    page = Page()
    query: Doc = {"kind": "payout"}
    if "admin" not in principal().roles:
        query["user_id"] = principal().user_id
    if status := query_choice("status", STATUSES):
        query["status"] = status
    if currency := query_choice("currency", CURRENCIES):
        query["currency"] = currency
    if window := query_time_window("start_date", "end_date"):
        query["submitted_at"] = window
    items, total = await ports().store.find_operations(query, page.skip, page.limit)
    return {"payouts": [payout_view(op) for op in items], "pagination": page.envelope(total)}


@bp.post("/cancel")
@requires(*ROLES)
async def cancel() -> dict[str, Any]:
    body = await Body.load()
    payout_id = body.uuid("payout_id")
    reason = body.string("reason", required=False, max_len=512)
    op = await _visible(payout_id)
    cancelled = await ports().store.transition(
        op["_id"],
        {"status": "pending"},
        {"status": "cancelled", "completed_at": now_ms(), "cancel_reason": reason},
    )
    if cancelled is not None:
        metrics.PAYOUTS_PROCESSED.labels(currency=cancelled["currency"], status="cancelled").inc()
    else:
        current = await _visible(payout_id)
        if current["status"] == "cancelled":
            cancelled = current
        else:
            raise ApiError(
                409,
                errors.PAYOUT_NOT_CANCELLABLE,
                f"payout is {current['status']}: only a pending payout can be cancelled",
            )
    return {
        "payout_id": cancelled["_id"],
        "status": "cancelled",
        "cancelled_at": iso(cancelled["completed_at"]),
        "reason": cancelled.get("cancel_reason"),
    }
