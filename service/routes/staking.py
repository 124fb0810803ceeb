"""/api/v1/staking: TRON Stake 2.0 (freeze for energy or bandwidth, unfreeze, withdraw when unlocked)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from service import errors
from service.auth import principal, requires
from service.clock import iso, now_ms
from service.errors import ApiError
from service.idempotency import derived_id, idempotent
from service.money import UNIT, format_amount
from service.operations import new_operation
from service.ports.chain import ChainUnavailable
from service.ports.store import Doc
from service.routes.common import chain_error, owned_wallet, submit_inline
from service.runtime import ports, runtime
from service.validation import Body, parse_address, query_choice

bp = Blueprint("staking", __name__, url_prefix="/api/v1/staking")
ROLES = ("staking_manager", "admin")
RESOURCES = ("ENERGY", "BANDWIDTH")
PERIODS = ("daily", "weekly", "monthly", "yearly", "all")
STATUS = {"pending": "pending", "processing": "submitted", "completed": "confirmed", "failed": "failed"}


def stake_view(op: Doc) -> dict[str, Any]:
    return {
        "stake_id": op["_id"],
        "tx_id": op.get("tx_id"),
        "status": STATUS[op["status"]],
        "type": op["kind"],
        "amount": format_amount(op["amount"]),
        "resource": op.get("resource"),
        "wallet_address": op["from_address"],
        "submitted_at": iso(op["submitted_at"]),
        "confirmed_at": iso(op.get("completed_at")) if op["status"] == "completed" else None,
        "failure_reason": op.get("failure_reason"),
    }


async def _account(address: str) -> dict[str, Any]:
    try:
        return await ports().chain.account(address)
    except ChainUnavailable as exc:
        raise chain_error(exc) from None


def _frozen(account: dict[str, Any], resource: str) -> int:
    return sum(
        int(f.get("amount", 0)) for f in account.get("frozenV2", []) if f.get("type", "BANDWIDTH") == resource
    )


async def _submit(
    kind: str, wallet_address: str, amount: int, resource: str | None, insufficient: str | None = None
) -> tuple[dict[str, Any], int]:
    op, _ = await submit_inline(
        runtime().processor,
        new_operation(
            kind,
            derived_id(kind),
            principal().user_id,
            from_address=wallet_address,
            to_address=None,
            amount=amount,
            currency="TRX",
            resource=resource,
        ),
        insufficient,
    )
    return stake_view(op), 202


@bp.post("/stake")
@requires(*ROLES)
@idempotent
async def stake() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    address = body.address("wallet_address")
    amount = body.require_amount()
    resource = body.choice("resource", RESOURCES)
    if amount < UNIT:
        raise ApiError(
            400, errors.STAKE_BELOW_MINIMUM, "amount: the minimum stake is 1 TRX", {"field": "amount"}
        )
    wallet = await owned_wallet(principal().user_id, address=address, field="wallet_address")
    if wallet["currency"] != "TRX":
        raise ApiError(422, errors.WALLET_CURRENCY_MISMATCH, "wallet_address: only a TRX wallet can stake")
    return await _submit("stake", address, amount, resource, insufficient=errors.STAKE_INSUFFICIENT)


@bp.post("/unstake")
@requires(*ROLES)
@idempotent
async def unstake() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    address = body.address("wallet_address")
    amount = body.require_amount()
    resource = body.choice("resource", RESOURCES)
    await owned_wallet(principal().user_id, address=address, field="wallet_address")
    staked = _frozen(await _account(address), resource)
    if amount > staked:
        raise ApiError(
            409,
            errors.STAKE_INSUFFICIENT,
            f"amount: only {format_amount(staked)} TRX is staked for {resource}",
            {"staked": format_amount(staked)},
        )
    return await _submit("unstake", address, amount, resource)


@bp.post("/withdraw")
@requires(*ROLES)
@idempotent
async def withdraw() -> tuple[dict[str, Any], int]:
    body = await Body.load()
    address = body.address("wallet_address")
    await owned_wallet(principal().user_id, address=address, field="wallet_address")
    moment = now_ms()
    unlocked = sum(
        int(u.get("unfreeze_amount", 0))
        for u in (await _account(address)).get("unfrozenV2", [])
        if int(u.get("unfreeze_expire_time", 0)) <= moment
    )
    if unlocked == 0:
        raise ApiError(
            409, errors.STAKE_INSUFFICIENT, "nothing to withdraw: no unstaked TRX has unlocked yet"
        )
    return await _submit("withdraw", address, unlocked, None)


@bp.get("/status/<address>")
@requires(*ROLES)
async def status(address: str) -> dict[str, Any]:
    account = await _account(parse_address(address, "address"))
    moment = now_ms()
    entries = []
    for index, pending in enumerate(account.get("unfrozenV2", [])):
        expire = int(pending.get("unfreeze_expire_time", 0))
        entries.append(
            {
                "entry_id": f"unstake-{index}",
                "amount": format_amount(int(pending.get("unfreeze_amount", 0))),
                "resource": pending.get("type", "BANDWIDTH"),
                "staked_at": None,
                "unlock_time": iso(expire),
                "is_unlocked": expire <= moment,
            }
        )
    stakes, _ = await ports().store.find_operations(
        {"kind": "stake", "from_address": address, "status": "completed"}
    )
    for op in stakes:
        entries.append(
            {
                "entry_id": op["_id"],
                "amount": format_amount(op["amount"]),
                "resource": op["resource"],
                "staked_at": iso(op["completed_at"]),
                "unlock_time": None,
                "is_unlocked": True,
            }
        )
    staked = sum(_frozen(account, r) for r in RESOURCES)
    pending_withdrawal = sum(int(u.get("unfreeze_amount", 0)) for u in account.get("unfrozenV2", []))
    return {
        "address": address,
        "total_staked": format_amount(staked),
        "available_for_unstaking": format_amount(staked),
        "pending_withdrawal": format_amount(pending_withdrawal),
        "entries": entries,
    }


@bp.get("/rewards/<address>")
@requires(*ROLES)
async def rewards(address: str) -> dict[str, Any]:
    parse_address(address, "address")
    period = query_choice("period", PERIODS) or "all"
    # [decided] Stake 2.0 freezing yields energy/bandwidth, not TRX; TRX rewards come only from voting,
    # which this service does not do. We report zero rather than invent a figure.
    return {
        "address": address,
        "period": period,
        "total_rewards": format_amount(0),
        "currency": "TRX",
        "note": "freezing yields resources, not TRX; voting rewards are not managed by this service",
    }
