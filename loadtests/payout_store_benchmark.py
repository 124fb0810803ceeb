"""What accepting one payout costs the store, step by step, as the service sends each step: through its
store port (`service/ports/store.py`, its indexes, the calls of one event-loop turn shared as in a write
run). Then the funds check's reserved sum side by side with the per-wallet reservation that could
replace it (a conditional `$inc` when a payout is accepted, an `$inc` back when it is final), on the
same data.

    python -m loadtests.payout_store_benchmark [--operations 6000] [--together 3] [--seconds 2]

The store is the stack's (stack/store_server.py), pinned to one core and this process to the other, as
`tronops bench` pins them.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pymongo import ReturnDocument

from loadtests.history_benchmark import payout
from loadtests.procs import cpu_seconds, pin
from loadtests.store_benchmark import CLIENT_CPU, ONE_CPU, STORE_CPU, Cost
from service.operations import new_operation
from service.ports.store import Store
from stack.processes import store_part

Doc = dict[str, Any]
Step = Callable[[int], Awaitable[object]]
DATABASE = "payout_store_benchmark"
WALLETS, OPEN_SHARE = 300, 10  # one operation in ten still open, as `store_benchmark` seeds
MEMO_FEE = 1_000_000  # SUN: the memo fee the reserved sum adds per open transaction


async def per_payout(step: Step, together: int, pid: int, seconds: float) -> Cost:
    """`together` payouts' calls of one step at once, in a loop for `seconds`: calls the store port
    shares leave as one command, as in a write run. Per payout: how long the payouts waited for the step
    (as `round_trip_ms`), the store's CPU (counted in 10 ms ticks, so the loop runs long enough to say
    something per call)."""
    await asyncio.gather(*(step(n) for n in range(together)))  # opens the connection, warms the caches
    count, cpu, started = 0, cpu_seconds(pid), time.perf_counter()
    while time.perf_counter() - started < seconds:
        await asyncio.gather(*(step(count + n) for n in range(together)))
        count += together
    elapsed = time.perf_counter() - started
    return Cost(1000 * elapsed * together / count, 1000 * (cpu_seconds(pid) - cpu) / count)


def accepting_steps(store: Store, addresses: list[str]) -> dict[str, Step]:
    """The five store calls a payout request makes (service/routes/payouts.py), in its order."""
    rng = random.Random(3)
    claimed: list[str] = []
    finishing = itertools.count()

    async def claim(_: int) -> object:
        key = uuid.uuid4().hex
        claimed.append(key)
        return await store.claim_idempotency_key(
            {"_id": key, "state": "in_progress", "fingerprint": "f" * 64, "started_at": 0}
        )

    async def finish(_: int) -> object:  # the claims made above, in turn (again once all are done)
        key = claimed[next(finishing) % len(claimed)]
        await store.finish_idempotency_key(key, 202, {"id": key, "status": "pending"})
        return key

    async def insert(_: int) -> object:
        operation = new_operation(
            "payout",
            str(uuid.uuid4()),
            "user",
            from_address=rng.choice(addresses),
            to_address="T" + "R" * 33,
            amount=1_000,
            currency="TRX",
        )
        return await store.insert_operation(operation)

    return {
        "idempotency claim (shared)": claim,
        "wallet (shared)": lambda _: store.wallet("user", f"wallet-{rng.randrange(len(addresses))}"),
        "reserved sum (shared)": lambda _: store.promised(rng.choice(addresses)),
        "operation insert (shared)": insert,
        "idempotency finish (shared)": finish,
    }


def reservation_steps(store: Store, addresses: list[str]) -> dict[str, Step]:
    """A per-wallet reservation instead of the sum: one document per wallet, reserved atomically with
    the funds check, released when the payout is final. Each is one command of its own: the reserve's
    answer (did this wallet's condition hold) is per payout, and the release goes with the operation's
    own final transition, one at a time."""
    reservations = store.operations.database["wallet_reservations"]
    rng = random.Random(5)

    async def reserve(_: int) -> object:
        return await reservations.find_one_and_update(
            {"_id": rng.choice(addresses), "reserved": {"$lte": 10**15}},
            {"$inc": {"reserved": 1_000 + MEMO_FEE}},
            return_document=ReturnDocument.AFTER,
        )

    async def release(_: int) -> object:
        return await reservations.update_one(
            {"_id": rng.choice(addresses)}, {"$inc": {"reserved": -(1_000 + MEMO_FEE)}}
        )

    return {"reserve (conditional $inc)": reserve, "release when final ($inc back)": release}


async def seed(store: Store, operations: int) -> list[str]:
    """Wallets and their payouts, one in ten open; a reservation document per wallet."""
    await store.prepare()
    addresses = [f"T{n:033d}" for n in range(WALLETS)]
    await store.wallets.insert_many(
        {"_id": f"wallet-{n}", "user_id": "user", "address": address, "deleted": False, "created_at": n}
        for n, address in enumerate(addresses)
    )
    ledger = [
        payout(n, addresses[n % WALLETS], "pending" if n % OPEN_SHARE == 0 else "completed")
        for n in range(operations)
    ]
    for start in range(0, len(ledger), 1000):
        await store.operations.insert_many(ledger[start : start + 1000])
    await store.operations.database["wallet_reservations"].insert_many(
        {"_id": address, "reserved": 0} for address in addresses
    )
    return addresses


async def measure(url: str, pid: int, args: argparse.Namespace) -> tuple[dict[str, Cost], dict[str, Cost]]:
    store = Store(url, DATABASE)
    try:
        print(f"seeding {args.operations:,} operations of {WALLETS} wallets ...", flush=True)
        addresses = await seed(store, args.operations)
        measured: list[dict[str, Cost]] = []
        for steps in (accepting_steps(store, addresses), reservation_steps(store, addresses)):
            costs = {}
            for name, step in steps.items():
                print(f"  {name} ...", flush=True)
                costs[name] = await per_payout(step, args.together, pid, args.seconds)
            measured.append(costs)
        return measured[0], measured[1]
    finally:
        await store.close()


def report(accepting: dict[str, Cost], reservation: dict[str, Cost], args: argparse.Namespace) -> str:
    def row(name: str, cost: Cost) -> str:
        return f"  {name:<34}{cost.store_cpu_ms:>10.3f}{cost.round_trip_ms:>10.2f}"

    def ratio(numerator: float, denominator: float) -> str:
        return f"{numerator / denominator:.2f}x" if denominator > 0 else "-"

    total = sum(cost.store_cpu_ms for cost in accepting.values())
    summed = accepting["reserved sum (shared)"].store_cpu_ms
    instead = sum(cost.store_cpu_ms for cost in reservation.values())
    return "\n".join(
        [
            f"{args.operations:,} operations of {WALLETS} wallets, one in {OPEN_SHARE} open; "
            f"{args.together} payouts at once",
            "accepting one payout, each step as the service sends it: the store's CPU per payout, and how",
            f"long the {args.together} payouts at once waited for the step",
            f"  {'':<34}{'CPU ms':>10}{'wait ms':>10}",
            *(row(name, cost) for name, cost in accepting.items()),
            f"  {'all five':<34}{total:>10.3f}",
            "the reserved sum, or a per-wallet reservation instead:",
            *(row(name, cost) for name, cost in reservation.items()),
            f"  {'reserve + release':<34}{instead:>10.3f}   {ratio(instead, summed)} the reserved sum's",
            f"  {'all five, reserving instead':<34}{total - summed + instead:>10.3f}   "
            f"{ratio(total - summed + instead, total)} accepting with the sum",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.payout_store_benchmark", description=__doc__)
    parser.add_argument(
        "--operations", type=int, default=6000, help="operations in the ledger before measuring"
    )
    parser.add_argument(
        "--together", type=int, default=3, help="payouts whose calls leave at once (a write run: about 2.5)"
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each step runs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="payout-store-benchmark-") as tmp:
        part = store_part(Path(tmp)).start(timeout=30)
        try:
            if not ONE_CPU:
                pin(part.pid, STORE_CPU)
                pin(os.getpid(), CLIENT_CPU)
            accepting, reservation = asyncio.run(measure(part.url, part.pid, args))
        finally:
            part.stop()
    print(report(accepting, reservation, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
