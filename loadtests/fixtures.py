"""What the benchmark sets up through the public API before measuring: users with funded wallets,
and payouts to read. Each writer owns its wallet, since a payout must come from the caller's wallet."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from harness.tokens import mint_token

T = TypeVar("T")
PARALLEL = 8  # enough to hide round trips; more only queues in the single-threaded replica
FUNDED_TIMEOUT_SECONDS = 60.0
PAYOUT_AMOUNT = "0.000001"


class SetupError(RuntimeError):
    """The service or devnet refused a setup step; the message carries its answer."""


@dataclass(frozen=True)
class Writer:
    token: str
    wallet_id: str
    address: str


def payout_body(writer: Writer, recipient: str) -> str:
    return json.dumps(
        {
            "recipient_address": recipient,
            "amount": PAYOUT_AMOUNT,
            "currency": "TRX",
            "source_wallet_id": writer.wallet_id,
        },
        separators=(",", ":"),
    )


def _checked(response: httpx.Response, expected: int) -> Any:
    if response.status_code != expected:
        raise SetupError(
            f"{response.request.method} {response.request.url} answered {response.status_code}, "
            f"expected {expected}: {response.text[:500]}"
        )
    return response.json()


async def _bounded(items: Iterable[T], step: Callable[[T], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(PARALLEL)

    async def one(item: T) -> Any:
        async with gate:
            return await step(item)

    return await asyncio.gather(*(one(item) for item in items))


async def provision_writers(
    service_url: str, devnet_url: str, secret: str, subs: list[str], fund_sun: int, ttl: int
) -> list[Writer]:
    """One TRX wallet per user, each funded from the devnet faucet with `fund_sun` and seen funded."""
    async with httpx.AsyncClient(timeout=30) as client:

        async def create(sub: str) -> Writer:
            token = mint_token(secret, sub, ["payout_manager"], ttl)
            wallet = _checked(
                await client.post(
                    f"{service_url}/api/v1/wallets",
                    json={"name": f"bench {sub}", "currency": "TRX"},
                    headers={"Authorization": f"Bearer {token}"},
                ),
                201,
            )
            return Writer(token, wallet["wallet_id"], wallet["address"])

        async def faucet(address: str, wait: bool) -> None:
            _checked(
                await client.post(
                    f"{devnet_url}/control/faucet",
                    json={"address": address, "amount": fund_sun, "currency": "TRX", "wait": wait},
                ),
                200,
            )

        writers: list[Writer] = await _bounded(subs, create)
        await _bounded([w.address for w in writers], lambda address: faucet(address, False))
        await faucet(writers[0].address, True)  # submitted last: once it is in a block, all the others are
        await _bounded(writers, lambda writer: _wait_funded(client, service_url, writer, fund_sun))
        return writers


async def _wait_funded(client: httpx.AsyncClient, service_url: str, writer: Writer, sun: int) -> None:
    deadline = time.monotonic() + FUNDED_TIMEOUT_SECONDS
    while True:
        balance = _checked(
            await client.get(
                f"{service_url}/api/v1/wallets/{writer.wallet_id}/balance",
                headers={"Authorization": f"Bearer {writer.token}"},
            ),
            200,
        )["balance"]
        if Decimal(balance) * 1_000_000 >= sun:
            return
        if time.monotonic() > deadline:
            raise SetupError(
                f"wallet {writer.address} still holds {balance} TRX after "
                f"{FUNDED_TIMEOUT_SECONDS:.0f} s; the faucet transfer never landed"
            )
        await asyncio.sleep(0.5)


async def seed_payouts(service_url: str, writer: Writer, recipient: str, count: int) -> list[str]:
    """`count` payouts from the writer's wallet, for the read load to fetch."""
    headers = {"Authorization": f"Bearer {writer.token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(timeout=30) as client:
        ids = []
        for _ in range(count):
            answer = _checked(
                await client.post(
                    f"{service_url}/api/v1/payouts/initiate",
                    content=payout_body(writer, recipient),
                    headers={**headers, "Idempotency-Key": f"bench-seed-{uuid.uuid4()}"},
                ),
                202,
            )
            ids.append(str(answer["payout_id"]))
        return ids
