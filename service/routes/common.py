"""What several route groups share: the caller's wallets, funds checks, timestamps."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from service import errors, read_ahead
from service.auth import principal
from service.errors import ApiError
from service.money import format_amount
from service.operations import Processor
from service.ports.chain import ChainTimeout, ChainUnavailable
from service.ports.store import Doc, Fees, Promised
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
    and the TRX for the fees on top of it (service/ports/store.py `Fees`): the memo fee each
    transaction burns (getMemoFee), and for a USDT transfer the energy the node says it will use
    beyond the source's staked energy, burned at getEnergyFee (a wallet short of it is not refused by
    the node: its transfer runs out of energy in its block and burns all the TRX it had); a TRC20
    transfer also needs an activated account (one that has held TRX). What is promised in TRX
    includes a memo fee for every open transaction from the source, whatever it moves, and the energy
    of every open USDT transfer: 8 USDT transfers at once from a wallet with TRX for 3 memo fees were
    all accepted, and the node refused 5 (tests/e2e/test_memo_fee.py).
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
    chain = ports().chain
    early: asyncio.Future[_Source] | None = None
    promised: asyncio.Future[Promised] | None = None
    try:
        try:
            # Both cached for minutes: no round trip on most calls.
            memo_fee, per_energy = await chain.memo_fee(), await chain.energy_fee()
        except ChainUnavailable as exc:
            raise chain_error(exc) from None
        if spending.held(address):  # another move is in: ask the node meanwhile, not in turn
            early = asyncio.ensure_future(_source(new))
        async with spending.hold(address):
            promised = asyncio.ensure_future(ports().store.promised(address))
            try:
                source = await (early if early is not None else _source(new))
                open_ones = await promised
                staked = source.staked_energy
                if staked is None:  # a TRX move: the staked energy matters only to open calls
                    staked = await chain.staked_energy_left(address) if open_ones.energy else 0
            except ChainUnavailable as exc:
                raise chain_error(exc) from None
            fees = Fees(memo_fee, per_energy, staked)
            taken = open_ones.trx_with_fees(fees)
            fee = open_ones.trx_with_fees(fees, more_transactions=1, more_energy=source.energy) - taken
            free_trx = source.trx - taken
            available = free_trx if currency == "TRX" else source.balance - open_ones.usdt
            _require(available, source.activated, free_trx, fee, currency, amount, insufficient)
            return await ports().store.insert_operation(
                {**new, "energy": source.energy} if source.energy else new
            )
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
    available: int, activated: bool, free_trx: int, fee: int, currency: str, amount: int, code: str
) -> None:
    """`available` is the balance in `currency`, `free_trx` the TRX, each less what the open operations
    already promise (their fees in TRX too); `fee` is the TRX this move's transaction burns."""
    if not activated:
        raise ApiError(
            409,
            code,
            "the wallet has never held TRX, so it cannot pay network fees: send it some TRX first",
            {"needs": "TRX for fees"},
        )
    if currency != "TRX" and free_trx < fee:
        trx, fee_trx = format_amount(free_trx), format_amount(fee)
        raise ApiError(
            409,
            code,
            f"insufficient TRX for fees: available {trx}, needed {fee_trx} (the memo fee that carries the "
            "operation id and the energy the transfer burns): send it some TRX",
            {"available": trx, "required": fee_trx, "needs": "TRX for fees"},
        )
    if currency == "TRX" and available < amount + fee:
        needed = f"{format_amount(amount)}" + (f" + {format_amount(fee)} memo fee" if fee else "")
        raise ApiError(
            409,
            code,
            f"insufficient TRX balance: available {format_amount(available)}, needed {needed}",
            {"available": format_amount(available), "required": format_amount(amount + fee)},
        )
    if currency != "TRX" and available < amount:
        raise ApiError(
            409,
            code,
            f"insufficient {currency} balance: available {format_amount(available)}, "
            f"needed {format_amount(amount)}",
            {"available": format_amount(available), "required": format_amount(amount)},
        )


@dataclass(frozen=True)
class _Source:
    """What the node says of a move's source: its balance in the move's currency, whether it is
    activated, its TRX, the energy the move's contract call would use (0 for TRX) and, for a call,
    the staked energy it has left (None: not read)."""

    balance: int
    activated: bool
    trx: int
    energy: int = 0
    staked_energy: int | None = None


async def _source(new: Doc) -> _Source:
    """One read for TRX; for a token, its balance, the account, the call's energy and the staked
    energy at once."""
    chain, address = ports().chain, new["from_address"]
    if new["currency"] == "TRX":
        activated, trx = await chain.trx_account(address)
        return _Source(trx, activated, trx)
    balance, (activated, trx), energy, staked = await asyncio.gather(
        chain.balance(address, new["currency"]),
        chain.trx_account(address),
        chain.usdt_transfer_energy(address, new["to_address"], new["amount"]),
        chain.staked_energy_left(address),
    )
    return _Source(balance, activated, trx, energy, staked)


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
