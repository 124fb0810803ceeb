"""/api/v1/wallets: custodial wallets. Keys are made here and never leave encrypted storage."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from quart import Blueprint, Response, current_app
from redis.exceptions import RedisError

from service import errors
from service.auth import principal, requires
from service.clock import iso, now_ms
from service.errors import ApiError
from service.money import format_amount
from service.ports.chain import ChainUnavailable
from service.ports.store import Doc
from service.routes.common import chain_error
from service.runtime import ports, runtime
from service.validation import Body, Page, parse_uuid, query_choice

bp = Blueprint("wallets", __name__, url_prefix="/api/v1/wallets")
CURRENCIES = ("TRX", "USDT")
TX_STATUS = {
    "pending": "pending",
    "processing": "pending",
    "completed": "confirmed",
    "failed": "failed",
    "cancelled": "failed",
}
TX_TYPE = {
    "payout": "payout",
    "payment": "payment",
    "refund": "refund",
    "usdt_transfer": "transfer",
    "usdt_approve": "approve",
    "stake": "stake",
    "unstake": "unstake",
    "withdraw": "withdraw",
}


def wallet_view(wallet: Doc, balance: int | None = None) -> dict[str, Any]:
    return {
        "wallet_id": wallet["_id"],
        "user_id": wallet["user_id"],
        "name": wallet["name"],
        "address": wallet["address"],
        "currency": wallet["currency"],
        "network": "TRON",
        "balance": format_amount(balance) if balance is not None else None,
        "is_active": bool(wallet["is_active"]),  # the local store returns a $set boolean as 0/1
        "created_at": iso(wallet["created_at"]),
        "updated_at": iso(wallet["updated_at"]),
    }


async def cached_balance(address: str, currency: str) -> int:
    """The chain balance, cached briefly in Redis so dashboards and polling clients spare the node."""
    key = f"balance:{currency}:{address}"
    cache = ports().cache
    hit = None
    with contextlib.suppress(RedisError, OSError):  # a Redis outage only costs a node call
        hit = await cache.get(key)
    if hit is not None:
        return int(hit)
    try:
        balance = await ports().chain.balance(address, currency)
    except ChainUnavailable as exc:
        raise chain_error(exc) from None
    with contextlib.suppress(RedisError, OSError):
        await cache.put(key, str(balance), runtime_cache_seconds())
    return balance


def runtime_cache_seconds() -> float:
    return float(current_app.config["SERVICE"].balance_cache_seconds)


async def _own(wallet_id: str) -> Doc:
    wallet = await ports().store.wallet(principal().user_id, parse_uuid(wallet_id, "wallet_id"))
    if wallet is None:
        raise ApiError(404, errors.WALLET_NOT_FOUND, "wallet_id: no wallet of yours with that id")
    return wallet


@bp.get("")
@requires()
async def list_wallets() -> dict[str, Any]:
    page = Page()
    currency = query_choice("currency", CURRENCIES)
    items, total = await ports().store.list_wallets(principal().user_id, currency, page.skip, page.limit)
    return {"wallets": [wallet_view(w) for w in items], "pagination": page.envelope(total)}


@bp.post("")
@requires()
async def create_wallet() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    name = body.require_string("name")
    currency = body.choice("currency", CURRENCIES)
    wallet_id = str(uuid.uuid4())
    address, encrypted_key = runtime().ports.vault.new_key(wallet_id)
    moment = now_ms()
    wallet = {
        "_id": wallet_id,
        "user_id": principal().user_id,
        "name": name,
        "currency": currency,
        "address": address,
        "encrypted_key": encrypted_key,
        "is_active": True,
        "deleted": False,
        "created_at": moment,
        "updated_at": moment,
    }
    try:  # before the wallet exists anywhere: a key the escrow does not hold is never handed out
        await ports().vault.escrow(wallet)
    except OSError as error:
        raise ApiError(
            503,
            errors.UNAVAILABLE,
            "wallet keys cannot be escrowed; retry shortly",
            headers={"Retry-After": "5"},
        ) from error
    await ports().store.insert_wallet(wallet)
    return wallet_view(wallet, 0), 201


@bp.get("/<wallet_id>")
@requires()
async def get_wallet(wallet_id: str) -> dict[str, Any]:
    wallet = await _own(wallet_id)
    return wallet_view(wallet, await cached_balance(wallet["address"], wallet["currency"]))


@bp.put("/<wallet_id>")
@requires()
async def update_wallet(wallet_id: str) -> dict[str, Any]:
    wallet = await _own(wallet_id)
    body = await Body.load()
    changes: dict[str, Any] = {}
    if "name" in body.data:
        changes["name"] = body.require_string("name")
    active = body.boolean("is_active")
    if active is not None:
        changes["is_active"] = active
    if not changes:
        raise errors.invalid("body", "send `name` and/or `is_active` to change")
    updated = await ports().store.update_wallet(principal().user_id, wallet["_id"], changes)
    assert updated is not None
    return wallet_view(updated)


@bp.delete("/<wallet_id>")
@requires()
async def delete_wallet(wallet_id: str) -> Response:
    wallet = await _own(wallet_id)
    await ports().store.update_wallet(
        principal().user_id, wallet["_id"], {"deleted": True, "is_active": False}
    )
    return Response("", status=204)


@bp.get("/<wallet_id>/balance")
@requires()
async def balance(wallet_id: str) -> dict[str, Any]:
    wallet = await _own(wallet_id)
    amount = await cached_balance(wallet["address"], wallet["currency"])
    return {
        "wallet_id": wallet["_id"],
        "address": wallet["address"],
        "currency": wallet["currency"],
        "balance": format_amount(amount),
        "last_updated": iso(now_ms()),
    }


def transaction_view(op: Doc) -> dict[str, Any]:
    return {
        "tx_id": op.get("tx_id"),
        "type": TX_TYPE[op["kind"]],
        "amount": format_amount(op["amount"]),
        "currency": op["currency"],
        "from_address": op["from_address"],
        "to_address": op.get("to_address"),
        "status": TX_STATUS[op["status"]],
        "timestamp": iso(op["submitted_at"]),
        "block_height": op.get("block_height"),
        "fee": format_amount(op["fee"]) if op.get("fee") is not None else None,
    }


@bp.get("/<wallet_id>/transactions")
@requires()
async def transactions(wallet_id: str) -> dict[str, Any]:
    wallet = await _own(wallet_id)
    page = Page()
    wanted = query_choice("status", ("pending", "confirmed", "failed"))
    query: Doc = {
        "$or": [{"from_address": wallet["address"]}, {"to_address": wallet["address"]}],
        "status": {"$ne": "cancelled"},
    }
    if wanted:
        query["status"] = {
            "$in": [s for s, shown in TX_STATUS.items() if shown == wanted and s != "cancelled"]
        }
    items, total = await ports().store.find_operations(query, page.skip, page.limit)
    return {"transactions": [transaction_view(op) for op in items], "pagination": page.envelope(total)}
