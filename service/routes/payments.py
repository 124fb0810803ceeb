"""/api/v1/payments: payments from a custodial wallet, refunds, reconciliation, signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from datetime import time as dtime
from typing import Any

from quart import Blueprint, current_app, request

from service import callbacks, errors, refunds
from service.auth import principal, requires
from service.clock import iso, now_ms, to_ms
from service.errors import ApiError, invalid
from service.idempotency import derived_id, idempotent
from service.money import format_amount
from service.operations import new_operation
from service.ports.chain import ChainUnavailable
from service.ports.store import Doc
from service.read_ahead import reads_ahead
from service.routes.common import chain_error, owned_wallet, source_wallet_ahead, store_funded, to_itself
from service.runtime import ports
from service.validation import Body, Page, parse_uuid, query_choice, query_date, raw_body

bp = Blueprint("payments", __name__, url_prefix="/api/v1/payments")
ROLES = ("payment_manager", "admin")
CURRENCIES = ("TRX", "USDT")
STATUSES = ("pending", "processing", "completed", "failed", "cancelled")
SIGNATURE_TOLERANCE_SECONDS = 300


def payment_view(op: Doc) -> dict[str, Any]:
    return {
        "payment_id": op["_id"],
        "status": op["status"],
        "amount": format_amount(op["amount"]),
        "currency": op["currency"],
        "recipient_address": op["to_address"],
        "source_wallet_id": op["wallet_id"],
        "description": op.get("description"),
        "tx_id": op.get("tx_id"),
        "submitted_at": iso(op["submitted_at"]),
        "completed_at": iso(op.get("completed_at")) if op["status"] == "completed" else None,
        "refunded_amount": format_amount(op.get("refund_reserved", 0)),
        "failure_reason": op.get("failure_reason"),
    }


def refund_view(op: Doc) -> dict[str, Any]:
    return {
        "refund_id": op["_id"],
        "payment_id": op["payment_id"],
        "status": op["status"],
        "amount": format_amount(op["amount"]),
        "currency": op["currency"],
        "reason": op.get("reason"),
        "tx_id": op.get("tx_id"),
        "submitted_at": iso(op["submitted_at"]),
        "failure_reason": op.get("failure_reason"),
    }


@bp.post("/process")
@requires(*ROLES)
@reads_ahead(source_wallet_ahead)
@idempotent
async def process() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    amount = body.require_amount()
    currency = body.choice("currency", CURRENCIES)
    recipient = body.address("recipient_address")
    wallet_id = body.uuid("source_wallet_id")
    description = body.string("description", required=False, max_len=1024)
    callback_url = body.string("callback_url", required=False, max_len=2048)
    if callback_url is not None:
        try:
            await callbacks.check_url(callback_url, current_app.config["SERVICE"].production)
        except callbacks.CallbackUrlError as exc:
            raise invalid("callback_url", str(exc)) from None
    user = principal().user_id
    wallet = await owned_wallet(user, wallet_id=wallet_id, field="source_wallet_id")
    if wallet["currency"] != currency:
        raise ApiError(
            422,
            errors.WALLET_CURRENCY_MISMATCH,
            f"source_wallet_id: the wallet holds {wallet['currency']}, not {currency}",
        )
    if wallet["address"] == recipient:
        raise to_itself("recipient_address", "source_wallet_id")
    op_id = derived_id("payment")
    op, _ = await store_funded(
        new_operation(
            "payment",
            op_id,
            user,
            wallet_id=wallet["_id"],
            from_address=wallet["address"],
            to_address=recipient,
            amount=amount,
            currency=currency,
            description=description,
            callback_url=callback_url,
            refund_reserved=0,
            refund_holds=[],
        ),
        errors.PAYMENT_INSUFFICIENT_BALANCE,
    )
    return payment_view(op), 202


async def _payment(payment_id: str) -> Doc:
    match = {} if "admin" in principal().roles else {"user_id": principal().user_id}
    op = await ports().store.operation(parse_uuid(payment_id, "payment_id"), kind="payment", **match)
    if op is None:
        raise ApiError(404, errors.PAYMENT_NOT_FOUND, "payment_id: no payment of yours with that id")
    return op


@bp.get("/<id:payment_id>")
@requires(*ROLES)
async def get_payment(payment_id: str) -> dict[str, Any]:
    return payment_view(await _payment(payment_id))


@bp.post("/refund")
@requires(*ROLES)
@idempotent
async def refund() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    payment_id = body.uuid("payment_id")
    reason = body.require_string("reason", max_len=512)
    amount = body.amount("amount", required=False)
    payment, merchant = await _refundable_by_caller(payment_id)
    store = ports().store
    refund_id = derived_id("refund")
    op = await store.operation(refund_id)
    if op is None:
        if payment["status"] != "completed":
            raise ApiError(
                409,
                errors.PAYMENT_NOT_REFUNDABLE,
                f"payment is {payment['status']}: only a completed payment can be refunded",
            )
        # [decided] Refunds send the money back from the recipient, which must be a custodial wallet here.
        if merchant is None or not merchant["is_active"]:
            raise ApiError(
                409,
                errors.PAYMENT_NOT_REFUNDABLE,
                "the payment's recipient is not an active wallet of this service, so it cannot refund",
            )
        refundable = payment["amount"] - payment.get("refund_reserved", 0)
        amount = refundable if amount is None else amount
        if refundable <= 0 or amount > refundable:
            raise _over_refund(payment, refundable)
        op, _ = await store_funded(
            new_operation(
                "refund",
                refund_id,
                merchant["user_id"],
                wallet_id=merchant["_id"],
                from_address=merchant["address"],
                to_address=payment["from_address"],
                amount=amount,
                currency=payment["currency"],
                reason=reason,
                payment_id=payment["_id"],
                status=refunds.RESERVING,
                hold="open",
            ),
            errors.PAYMENT_NOT_REFUNDABLE,
        )
    if op["status"] == refunds.RESERVING:
        # Concurrent refunds race here; the hold on the payment is atomic, so they never exceed it.
        op = await refunds.reserve(store, op)
    if op["status"] == "failed" and str(op.get("failure_reason")).startswith(refunds.OVER_REFUND):
        current = await store.operation(payment["_id"]) or payment
        raise _over_refund(current, current["amount"] - current.get("refund_reserved", 0))
    return refund_view(op), 202


async def _refundable_by_caller(payment_id: str) -> tuple[Doc, Doc | None]:
    """The payment and the service wallet that received it (None if the service does not hold it).
    [decided] Only that wallet's owner or an admin may refund; the payer sees the payment, but a
    refund out of someone else's wallet is not theirs to ask for, so it is 404 as for any stranger.
    A payment to an outside address cannot be refunded here at all: its payer is told so (409)."""
    caller = principal()
    store = ports().store
    payment = await store.operation(payment_id, kind="payment")
    merchant = None if payment is None else await store.wallet_by_address(payment["to_address"])
    allowed = payment is not None and (
        "admin" in caller.roles
        or (merchant is not None and merchant["user_id"] == caller.user_id)
        or (merchant is None and payment["user_id"] == caller.user_id)
    )
    if payment is None or not allowed:
        raise ApiError(
            404, errors.PAYMENT_NOT_FOUND, "payment_id: no payment to a wallet of yours with that id"
        )
    return payment, merchant


def _over_refund(payment: Doc, refundable: int) -> ApiError:
    return ApiError(
        409,
        errors.PAYMENT_OVER_REFUND,
        f"amount: only {format_amount(max(0, refundable))} {payment['currency']} is left to refund",
        {"refundable": format_amount(max(0, refundable))},
    )


@bp.get("/reconciliation")
@requires(*ROLES)
async def reconciliation() -> dict[str, Any]:
    """A UTC day's payments and refunds: totals summed in the store over the whole day, the rows one
    page at a time, and each completed row on the page checked against the solidified chain (its
    transaction moved exactly its amount to its recipient). Memory stays bounded on any day."""
    day = query_date("date") or datetime.now(UTC).date()
    currency = query_choice("currency", CURRENCIES)
    status = query_choice("status", STATUSES)
    page = Page()
    start = to_ms(datetime.combine(day, dtime.min, UTC))
    query: Doc = {
        "kind": {"$in": ["payment", "refund"]},
        "submitted_at": {"$gte": start, "$lt": start + 86_400_000},
    }
    if "admin" not in principal().roles:
        query["user_id"] = principal().user_id
    if currency:
        query["currency"] = currency
    if status:
        query["status"] = {"$in": ["pending", refunds.RESERVING]} if status == "pending" else status
    store = ports().store
    totals = await store.totals(query, ("payment", "refund"))
    items, total = await store.find_operations(
        query, page.skip, page.limit, sort=[("submitted_at", 1), ("_id", 1)]
    )
    try:
        verdicts = [await _on_chain(op) for op in items]
    except ChainUnavailable as exc:
        raise chain_error(exc) from None
    rows = [
        {
            "transaction_id": op["_id"],
            "type": op["kind"],
            "amount": format_amount(op["amount"]),
            "currency": op["currency"],
            "status": refunds.shown_status(op),
            "timestamp": iso(op["submitted_at"]),
            "tx_hash": op.get("tx_id"),
            "chain": verdict,
        }
        for op, verdict in zip(items, verdicts, strict=True)
    ]
    by_status: dict[str, dict[str, int]] = {}
    for (kind, op_status), (count, amount) in totals.items():
        bucket = by_status.setdefault(refunds.shown_status({"status": op_status}), {"count": 0, "amount": 0})
        bucket["count"] += count
        bucket["amount"] += amount if kind == "payment" else -amount
    paid = totals.get(("payment", "completed"), (0, 0))[1]
    refunded = totals.get(("refund", "completed"), (0, 0))[1]
    return {
        "date": day.isoformat(),
        "currency": currency,
        "status": status,
        "totals": {
            "count": sum(count for count, _ in totals.values()),
            "completed_payments": format_amount(paid),
            "completed_refunds": format_amount(refunded),
            "net_settled": format_amount(paid - refunded),
            "by_status": {
                k: {"count": v["count"], "net_amount": format_amount(v["amount"])}
                for k, v in sorted(by_status.items())
            },
        },
        "chain": {
            "checked": sum(v is not None for v in verdicts),
            "mismatched": [row["transaction_id"] for row in rows if row["chain"] in ("mismatch", "missing")],
        },
        "transactions": rows,
        "pagination": page.envelope(total),
    }


async def _on_chain(op: Doc) -> str | None:
    """A completed operation as the solidified chain shows it: `matches` (its transaction moved exactly
    its amount to its recipient), `mismatch` (it moved something else) or `missing` (no successful
    transaction); None for one not completed, which the chain need not show yet."""
    if op["status"] != "completed":
        return None
    moved = await ports().chain.settled_transfer(op["tx_id"]) if op.get("tx_id") else None
    if moved is None:
        return "missing"
    return "matches" if moved == (op["to_address"], op["amount"]) else "mismatch"


def verify_signature(header: str, raw: bytes, secret: str, now_s: float | None = None) -> str | None:
    """None when valid, else what is wrong with the X-Lucid-Signature header."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    # ASCII digits, at most 12: str.isdigit() also takes "²", and a huge t overflows the float maths below.
    if "t" not in parts or "v1" not in parts or not re.fullmatch(r"[0-9]{1,12}", parts["t"]):
        return "X-Lucid-Signature must be t=<unix seconds>,v1=<hex HMAC-SHA256>"
    if abs((now_s or time.time()) - int(parts["t"])) > SIGNATURE_TOLERANCE_SECONDS:
        return "signature timestamp is more than 5 minutes from now"
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
    # As bytes: compare_digest raises TypeError on str with non-ASCII characters, which a header may carry.
    if not hmac.compare_digest(expected.encode(), parts["v1"].encode()):
        return "signature does not match the body"
    return None


@bp.post("/webhook")
async def webhook() -> tuple[dict[str, Any], int]:
    raw = await raw_body()
    problem = verify_signature(
        request.headers.get("X-Lucid-Signature", ""), raw, current_app.config["SERVICE"].webhook_secret
    )
    if problem:
        raise ApiError(401, errors.WEBHOOK_SIGNATURE_INVALID, problem)
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid("body", "must be JSON") from None
    if not isinstance(event, dict):
        raise invalid("body", "must be a JSON object")
    body = Body(event)
    body.require_string("event_type", max_len=100)
    payment_id = body.uuid("payment_id")
    body.choice("status", STATUSES)
    # [decided] A webhook is recorded, never trusted to change money state: the chain is the truth.
    new = await ports().store.record_webhook_event(
        {
            "_id": hashlib.sha256(raw).hexdigest(),
            "payment_id": payment_id,
            "body": raw.decode("utf-8", "replace"),  # as received: keys and numbers need not fit BSON
            "received_at": now_ms(),
        }
    )
    return {"received": True, "duplicate": not new}, 200
