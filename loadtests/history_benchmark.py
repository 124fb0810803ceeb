"""What the ledger's history costs the store: the aggregations the service runs on every money move
(the funds check's reserved sum) and on every metrics scrape (the queue's age, what each wallet still
owes), as a payout wallet's finished operations pile up. Each is run as the service sends it (its
statuses as one range, `service/ports/store.py`) and with the same statuses as a list (`$in`, as
the service sent them before), against the same data, side by side; both must give one answer.

    python -m loadtests.history_benchmark [--history 0,1000,10000] [--seconds 1]

The store is the stack's (stack/store_server.py), with the indexes the service makes (`Store.prepare`).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from loadtests.store_benchmark import Cost, one_client
from service.operations import new_operation
from service.ports.store import (
    FINAL_STATES,
    PROMISED,
    UNFINISHED,
    Store,
    oldest_unfinished_pipeline,
    promised_pipeline,
    unsent_by_source_pipeline,
)
from stack.processes import store_part

Doc = dict[str, Any]
DATABASE = "history_benchmark"
BUSY = "T" + "B" * 33  # the payout wallet whose history grows
OTHERS, OTHER_OPERATIONS, OPEN_SHARE = 300, 2000, 10  # the rest of the ledger: one in ten still open
# Name, the service's pipeline, and the statuses its first stage asks for.
QUERIES: list[tuple[str, Callable[[], list[Doc]], tuple[str, ...]]] = [
    ("funds check (reserved sum)", lambda: promised_pipeline(BUSY), PROMISED),
    ("queue age (each scrape)", oldest_unfinished_pipeline, UNFINISHED),
    ("owed per wallet (each scrape)", lambda: unsent_by_source_pipeline("TRX", 50), UNFINISHED),
]


def as_list(pipeline: list[Doc], statuses: tuple[str, ...]) -> list[Doc]:
    """The same pipeline, its statuses asked for as a list, as the service asked before."""
    listed = copy.deepcopy(pipeline)
    listed[0]["$match"]["status"] = {"$in": list(statuses)}
    return listed


def payout(number: int, address: str, status: str) -> Doc:
    return new_operation(
        "payout",
        f"op-{number}",
        f"user-{address}",
        from_address=address,
        to_address="T" + "R" * 33,
        amount=1_000 + number,
        currency="TRX",
        status=status,
    )


def cost(operations: Any, pipeline: list[Doc], pid: int, seconds: float) -> tuple[Cost, list[Doc]]:
    """The pipeline's cost per call, run as the store benchmark runs a command; and its answer."""
    answer = list(operations.aggregate(pipeline))
    return one_client(lambda: operations.aggregate(pipeline).to_list(), pid, seconds), answer


def _same(one: list[Doc], other: list[Doc]) -> bool:
    return sorted(map(repr, one)) == sorted(map(repr, other))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.history_benchmark", description=__doc__)
    parser.add_argument(
        "--history", default="0,1000,10000", help="the busy wallet's finished payouts, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=1.0, help="how long each query runs, each way")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.history.split(","))
    numbers = itertools.count()
    finished = itertools.cycle(FINAL_STATES)
    differ: list[str] = []
    results: dict[str, list[tuple[int, Cost, Cost]]] = {name: [] for name, _, _ in QUERIES}
    with tempfile.TemporaryDirectory(prefix="history-benchmark-") as tmp:
        part = store_part(Path(tmp)).start(timeout=30)
        try:
            asyncio.run(_prepare(part.url))
            client: MongoClient[Doc] = MongoClient(part.url)
            operations = client[DATABASE]["operations"]
            others = [
                payout(
                    next(numbers), f"T{n % OTHERS:033d}", "pending" if n % OPEN_SHARE == 0 else "completed"
                )
                for n in range(OTHER_OPERATIONS)
            ]
            others += [payout(next(numbers), BUSY, PROMISED[n % len(PROMISED)]) for n in range(20)]
            operations.insert_many(others)
            seeded = 0
            for size in sizes:
                print(
                    f"the busy wallet's finished payouts: {size:,}; seeding {size - seeded:,} ...", flush=True
                )
                batch = [payout(next(numbers), BUSY, next(finished)) for _ in range(size - seeded)]
                for start in range(0, len(batch), 1000):
                    operations.insert_many(batch[start : start + 1000])
                seeded = size
                for name, pipeline, statuses in QUERIES:
                    listed, before = cost(operations, as_list(pipeline(), statuses), part.pid, args.seconds)
                    ranged, now = cost(operations, pipeline(), part.pid, args.seconds)
                    if not _same(before, now):
                        differ.append(f"{name} at {size}: {before} against {now}")
                    results[name].append((size, listed, ranged))
            client.close()
        finally:
            part.stop()
    print(report(results))
    for difference in differ:
        print(f"DIFFERENT ANSWERS: {difference}")
    return 1 if differ else 0


async def _prepare(url: str) -> None:
    store = Store(url, DATABASE)
    try:
        await store.prepare()
    finally:
        await store.close()


def report(results: dict[str, list[tuple[int, Cost, Cost]]]) -> str:
    lines = [
        f"the rest of the ledger: {OTHER_OPERATIONS:,} payouts of {OTHERS} wallets, "
        f"one in {OPEN_SHARE} open; the busy wallet has 20 open",
        "store CPU ms per call (round trip ms): statuses as a list ($in, before) | as one range (now)",
    ]
    for name, measured in results.items():
        lines.append(f"  {name}")
        for size, listed, ranged in measured:
            ratio = f"{listed.store_cpu_ms / ranged.store_cpu_ms:.1f}x" if ranged.store_cpu_ms > 0 else "-"
            lines.append(
                f"    {size:>7,} finished {listed.store_cpu_ms:8.2f} ({listed.round_trip_ms:6.2f}) | "
                f"{ranged.store_cpu_ms:8.2f} ({ranged.round_trip_ms:6.2f}) | {ratio:>7}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
