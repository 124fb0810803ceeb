"""What several route groups share: the caller's wallets, funds checks, timestamps."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from service import errors, read_ahead
from service.auth import principal
from service.errors import ApiError
from service.money import format_amount
from service.operations import Processor
from service.ports.chain import ChainTimeout, ChainUnavailable
from service.ports.store import Doc
from service.runtime import ports


def chain_error(exc: ChainUnavailable) -> ApiError:
    if isinstance(exc, ChainTimeout):
        return ApiError(
            503,
            errors.NETWORK_TIMEOUT,
            "the TRON node timed out; retry shortly",
            headers={"Retry-After": "5"},
        )
    return ApiError(
        503,
        errors.NETWORK_UNAVAILABLE,
        "the TRON network is unreachable; retry shortly",
        headers={"Retry-After": "5"},
    )


async def owned_wallet(
    user_id: str, *, wallet_id: str | None = None, address: str | None = None, field: str = "wallet"
) -> Doc:
    """The caller's active wallet, by id or address; anyone else's is reported as not found."""
    store = ports().store
    ahead = read_ahead.take(("wallet", user_id, wallet_id)) if wallet_id else None
    if ahead is not None:
        wallet = await ahead
    elif wallet_id:
        wallet = await store.wallet(user_id, wallet_id)
    else:
        wallet = await store.wallet_by_address(address or "")
    if wallet is None or wallet["user_id"] != user_id:
        raise ApiError(
            404,
            errors.WALLET_NOT_FOUND,
            f"{field}: no wallet of yours with that id or address",
            {"field": field},
        )
    if not wallet["is_active"]:
        raise ApiError(
            409,
            errors.WALLET_INACTIVE,
            f"{field}: the wallet is deactivated; reactivate it first",
            {"field": field},
        )
    return wallet


def source_wallet_ahead(body: Any) -> None:
    """Start reading the wallet a money move names as `source_wallet_id`, for `owned_wallet` to take up
    (service/read_ahead.py). The id as `Body.uuid` will read it, so that the two keys match."""
    wallet_id = body.get("source_wallet_id") if isinstance(body, dict) else None
    try:
        wallet_id = str(uuid.UUID(wallet_id)) if isinstance(wallet_id, str) else None
    except ValueError:
        return  # the handler refuses it, with no read
    if wallet_id is not None:
        user_id = principal().user_id
        read_ahead.start(("wallet", user_id, wallet_id), ports().store.wallet(user_id, wallet_id))


def to_itself(field: str, wallet_field: str) -> ApiError:
    """A move from a wallet to its own address. Each field is valid alone, and no schema relates two,
    so it is no malformed request (400) but one that conflicts with what the wallet is: 409."""
    return ApiError(
        409,
        errors.WALLET_SAME_ADDRESS,
        f"{field}: is the address of {wallet_field} itself; a move must go to another address",
        {"field": field},
    )


async def require_funds(address: str, currency: str, amount: int, code: str) -> None:
    """Chain balance less what is already promised out of the address must cover the amount, and the
    TRX for the memo fee each transaction burns (getMemoFee, service/ports/chain.py) on top of it.
    A TRC20 transfer also needs an activated account (one that has held TRX) to pay its fees.
    The store's sum and the node's balances are read at once: each is a round trip a money move
    waits for, and neither needs the other. An operation is counted in neither only if its transaction
    lands after the balance is read and it settles (its block solidified, about 19 blocks later)
    before the sum is: not within two reads in flight together."""
    chain = ports().chain
    try:
        memo_fee = await chain.memo_fee()  # cached for minutes: no round trip on most calls
    except ChainUnavailable as exc:
        raise chain_error(exc) from None
    fee = memo_fee if currency == "TRX" else 0
    reserved = asyncio.ensure_future(ports().store.reserved(address, currency, per_operation=fee))
    try:
        balance, (activated, trx) = await _balances(address, currency)
    except BaseException as exc:
        reserved.cancel()  # the node's read failed (or the request ended): the sum is not needed
        if isinstance(exc, ChainUnavailable):
            raise chain_error(exc) from None
        raise
    available = balance - await reserved
    if not activated:
        raise ApiError(
            409,
            code,
            "the wallet has never held TRX, so it cannot pay network fees: send it some TRX first",
            {"needs": "TRX for fees"},
        )
    if currency != "TRX" and trx < memo_fee:
        raise ApiError(
            409,
            code,
            f"insufficient TRX for the memo fee: available {format_amount(trx)}, needed "
            f"{format_amount(memo_fee)} (each transaction carries its operation id): send it some TRX",
            {"available": format_amount(trx), "required": format_amount(memo_fee), "needs": "TRX for fees"},
        )
    if available < amount + fee:
        needed = f"{format_amount(amount)}" + (f" + {format_amount(fee)} memo fee" if fee else "")
        raise ApiError(
            409,
            code,
            f"insufficient {currency} balance: available {format_amount(available)}, needed {needed}",
            {"available": format_amount(available), "required": format_amount(amount + fee)},
        )


async def _balances(address: str, currency: str) -> tuple[int, tuple[bool, int]]:
    """The address's balance in `currency`, and whether it is activated with its TRX (one read for TRX,
    two at once for a token)."""
    chain = ports().chain
    if currency == "TRX":
        activated, trx = await chain.trx_account(address)
        return trx, (activated, trx)
    balance, account = await asyncio.gather(chain.balance(address, currency), chain.trx_account(address))
    return balance, account


async def submit_inline(processor: Processor, new: Doc) -> tuple[Doc, bool]:
    """Store a new operation already leased to this request, then sign and broadcast it here, so the
    202 carries its tx id: no worker can take it in between. If the chain fails now, this replica's
    worker carries it on (another's once the lease runs out); the operation is never lost.
    Returns (operation, created); an operation stored before under the same id is returned as is."""
    op, created = await ports().store.insert_operation(processor.leased(new))
    if not created:
        return op, False
    return await processor.step(op), True


def amount_fields(op: Doc) -> dict[str, Any]:
    return {"amount": format_amount(op["amount"]), "currency": op["currency"]}
