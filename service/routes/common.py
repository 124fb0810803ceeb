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
from service.ports.store import Doc, Promised
from service.runtime import ports, runtime


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


async def store_funded(new: Doc, insufficient: str) -> tuple[Doc, bool]:
    """Store the money move `new` if its source can pay for it; (operation, created), or ApiError
    (409 `insufficient`, or 503 with the node down) with nothing stored.

    The chain balance less what the source's open operations already promise must cover the amount,
    and the TRX for the memo fee each transaction burns (getMemoFee, service/ports/chain.py) on top of
    it; a TRC20 transfer also needs an activated account (one that has held TRX) to pay its fees.
    What is promised in TRX includes a memo fee for every open transaction from the source, whatever
    it moves: 8 USDT transfers at once from a wallet with TRX for 3 memo fees were all accepted, and
    the node refused 5 (tests/e2e/test_memo_fee.py).
    On this replica the source is held from the promised sums' read until `new` is stored
    (service/spending.py), so a move from it checked after this one counts this one. The store's sums
    and the node's balances are read at once, the sums first (paired in `tronops bench`, asking the
    node first cost a write 5 to 9 %). A move that finds the source held asks the node before it
    waits, so a slow or hung node is not waited for one move after another. An operation is counted
    in neither read only if its transaction lands after the balance is read and settles (its block
    solidified, about 19 blocks later) before the sum is: not within one request's wait for the hold.

    A move stored before under the same id (a retry whose answer was lost) is returned as it is even
    when the check now fails: its own amount is among the promised, or the node is down."""
    address, currency, amount = new["from_address"], new["currency"], new["amount"]
    spending = runtime().spending
    early: asyncio.Future[tuple[int, tuple[bool, int]]] | None = None
    promised: asyncio.Future[Promised] | None = None
    try:
        try:
            memo_fee = await ports().chain.memo_fee()  # cached for minutes: no round trip on most calls
        except ChainUnavailable as exc:
            raise chain_error(exc) from None
        if spending.held(address):  # another move is in: ask the node meanwhile, not in turn
            early = asyncio.ensure_future(_balances(address, currency))
        async with spending.hold(address):
            promised = asyncio.ensure_future(ports().store.promised(address))
            try:
                node = early if early is not None else _balances(address, currency)
                balance, (activated, trx) = await node
            except ChainUnavailable as exc:
                raise chain_error(exc) from None
            open_ones = await promised
            free_trx = trx - open_ones.trx_with_fees(memo_fee)
            available = free_trx if currency == "TRX" else balance - open_ones.usdt
            _require(available, activated, free_trx, memo_fee, currency, amount, insufficient)
            return await ports().store.insert_operation(new)
    except ApiError:
        stored = await ports().store.operation(new["_id"])
        if stored is None:
            raise
        return stored, False
    finally:
        for read in (early, promised):
            if read is not None:
                read.cancel()  # done by now, unless the other read failed or the request ended first


def _require(
    available: int, activated: bool, free_trx: int, memo_fee: int, currency: str, amount: int, code: str
) -> None:
    """`available` is the balance in `currency`, `free_trx` the TRX, each less what the open operations
    already promise (their memo fees in TRX too)."""
    fee = memo_fee if currency == "TRX" else 0
    if not activated:
        raise ApiError(
            409,
            code,
            "the wallet has never held TRX, so it cannot pay network fees: send it some TRX first",
            {"needs": "TRX for fees"},
        )
    if currency != "TRX" and free_trx < memo_fee:
        trx, fee_trx = format_amount(free_trx), format_amount(memo_fee)
        raise ApiError(
            409,
            code,
            f"insufficient TRX for the memo fee: available {trx}, needed {fee_trx} (each transaction "
            "carries its operation id): send it some TRX",
            {"available": trx, "required": fee_trx, "needs": "TRX for fees"},
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


async def submit_inline(processor: Processor, new: Doc, insufficient: str | None = None) -> tuple[Doc, bool]:
    """Store a new operation already leased to this request, then sign and broadcast it here, so the
    202 carries its tx id: no worker can take it in between. If the chain fails now, this replica's
    worker carries it on (another's once the lease runs out); the operation is never lost.
    With `insufficient` (the error code) it is stored only if its source can pay for it
    (`store_funded`). Returns (operation, created); an operation stored before under the same id is
    returned as is."""
    leased = processor.leased(new)
    store = ports().store
    op, created = await (
        store.insert_operation(leased) if insufficient is None else store_funded(leased, insufficient)
    )
    if not created:
        return op, False
    return await processor.step(op), True


def amount_fields(op: Doc) -> dict[str, Any]:
    return {"amount": format_amount(op["amount"]), "currency": op["currency"]}
