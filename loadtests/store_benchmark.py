"""The local store's own cost per command, served as the stack serves it (stack/store_server.py) and
as nx-27017 serves itself (its `nx-27017` command): the same database, commands and clients, one
server after the other; the store pinned to one core and its clients to the other, as `tronops bench`
pins them, or (`--no-pin`) left to the scheduler, as the local stack and the tests run them.

    python -m loadtests.store_benchmark [--operations 9000] [--seconds 3] [--clients 6] [--no-pin]

Prints, per server: each command's round trip and the store's CPU per command from one client, then
the commands a second and CPU per command of `--clients` clients at once; and the ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import ASCENDING, MongoClient

from loadtests.procs import cpu_seconds, pin
from service.ports.store import PROMISED_BY_SOURCE, promised_pipeline
from stack.processes import PYTHON, Part, free_port, port_open, store_part

STORE_CPU, CLIENT_CPU = {0}, {1}
ONE_CPU = (os.cpu_count() or 1) == 1  # then the store and its clients share it, pinned or not
ADDRESSES = 300

Doc = dict[str, Any]
Command = Callable[[], Any]


@dataclass(frozen=True)
class Cost:
    round_trip_ms: float
    store_cpu_ms: float


@dataclass(frozen=True)
class Measured:
    one_client: dict[str, Cost]
    concurrent_rate: float  # commands a second from all clients together
    concurrent_cpu_ms: float  # the store's CPU per command meanwhile


def stock_part(run_dir: Path) -> Part:
    """nx-27017 as its own command starts it: each command on a worker thread, INFO lines per command."""
    port = free_port()
    data = run_dir / "stock"
    data.mkdir(parents=True, exist_ok=True)
    argv = [str(Path(PYTHON).parent / "nx-27017"), "--data-dir", str(data / "databases")]
    argv += ["--host", "127.0.0.1", "-p", str(port)]
    argv += ["--pid-file", str(data / "nx-27017.pid"), "--log-file", str(data / "nx-27017.log")]
    log = run_dir / "logs" / "store-stock.log"
    return Part("store-stock", argv, log, lambda: port_open(port), url=f"mongodb://127.0.0.1:{port}")


def seed(operations: Any, count: int) -> None:
    """Payout-like operations over a few hundred addresses, one in ten not final, as the bench leaves."""
    operations.create_index(PROMISED_BY_SOURCE)
    operations.create_index([("status", ASCENDING), ("kind", ASCENDING)])
    rng = random.Random(7)
    operations.insert_many(
        {
            "_id": f"op-{n}",
            "kind": "payout",
            "from_address": f"T{rng.randrange(ADDRESSES):033d}",
            "currency": "TRX",
            "debits": True,
            "status": rng.choice(["completed"] * 9 + ["pending"]),
            "amount": rng.randrange(1, 10**9),
            "memo": "x" * 200,
        }
        for n in range(count)
    )


def commands(client: MongoClient[Doc], who: int = 0) -> dict[str, Command]:
    db = client["store_benchmark"]
    operations = db["operations"]
    address = f"T{who % ADDRESSES:033d}"
    inserted = iter(range(10**9))
    promised = promised_pipeline(address)  # the funds check's, as the service sends it
    return {
        "ping": lambda: db.command("ping"),
        "find by _id": lambda: operations.find_one({"_id": f"op-{who}"}),
        "reserved sum": lambda: list(operations.aggregate(promised)),
        "insert": lambda: db["scratch"].insert_one({"who": who, "n": next(inserted)}),
        "update": lambda: operations.update_one({"_id": f"op-{who}"}, {"$set": {"touched": time.time()}}),
    }


def one_client(command: Command, pid: int, seconds: float) -> Cost:
    """The command in a loop for `seconds`: long enough for the store's CPU time, counted in 10 ms
    ticks, to say something per command."""
    command()  # the first call opens the connection and warms the store's caches
    count, cpu, started = 0, cpu_seconds(pid), time.perf_counter()
    while time.perf_counter() - started < seconds:
        command()
        count += 1
    elapsed = time.perf_counter() - started
    return Cost(1000 * elapsed / count, 1000 * (cpu_seconds(pid) - cpu) / count)


def concurrent(url: str, pid: int, clients: int, seconds: float) -> tuple[float, float]:
    """`clients` threads, each alternating a find by _id and its address's reserved sum."""
    client: MongoClient[Doc] = MongoClient(url, maxPoolSize=clients)
    done = [0] * clients
    deadline = time.monotonic() + seconds

    def run(who: int) -> None:
        mine = commands(client, who)
        while time.monotonic() < deadline:
            mine["find by _id"]()
            mine["reserved sum"]()
            done[who] += 2

    threads = [threading.Thread(target=run, args=(who,)) for who in range(clients)]
    cpu, started = cpu_seconds(pid), time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, total = time.monotonic() - started, sum(done)
    client.close()
    return total / elapsed, 1000 * (cpu_seconds(pid) - cpu) / max(1, total)


def measure(part: Part, args: argparse.Namespace) -> Measured:
    part.start(timeout=30)
    try:
        if args.pin:
            pin(part.pid, STORE_CPU)
        client: MongoClient[Doc] = MongoClient(part.url)
        seed(client["store_benchmark"]["operations"], args.operations)
        single = {name: one_client(cmd, part.pid, args.seconds) for name, cmd in commands(client).items()}
        client.close()
        rate, cpu_ms = concurrent(part.url, part.pid, args.clients, args.seconds)
        return Measured(single, rate, cpu_ms)
    finally:
        part.stop()


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator > 0 else "-"


def report(stock: Measured, ours: Measured, clients: int) -> str:
    lines = [
        f"{'':24}{'nx-27017 as it serves itself':>32}{'as the stack serves it':>28}{'ratio':>10}",
        "one client: round trip ms, store CPU ms per command",
    ]
    for name, before in stock.one_client.items():
        after = ours.one_client[name]
        lines.append(
            f"  {name:<22}{before.round_trip_ms:>16.2f}{before.store_cpu_ms:>16.2f}"
            f"{after.round_trip_ms:>14.2f}{after.store_cpu_ms:>14.2f}"
            f"{_ratio(before.store_cpu_ms, after.store_cpu_ms):>10}"
        )
    lines += [
        f"{clients} clients at once (find by _id, reserved sum): commands/s, store CPU ms per command",
        f"  {'':<22}{stock.concurrent_rate:>16.0f}{stock.concurrent_cpu_ms:>16.2f}"
        f"{ours.concurrent_rate:>14.0f}{ours.concurrent_cpu_ms:>14.2f}"
        f"{_ratio(ours.concurrent_rate, stock.concurrent_rate):>10}",
        "ratio: store CPU per command, nx-27017's own over ours (one client); commands/s, ours over its own",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.store_benchmark", description=__doc__)
    parser.add_argument("--operations", type=int, default=9000, help="operations seeded before measuring")
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="how long each command, then the clients, run"
    )
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="leave the store and its clients to the scheduler, as the local stack and the tests run them "
        "(by default each has a core of its own, as in `tronops bench`)",
    )
    args = parser.parse_args(argv)
    args.pin = args.pin and not ONE_CPU
    if args.pin:
        pin(os.getpid(), CLIENT_CPU)  # this process's clients (threads inherit it) on the other core
    with tempfile.TemporaryDirectory(prefix="store-benchmark-") as tmp:
        run_dir = Path(tmp)
        print("the store on CPU 0, its clients on CPU 1" if args.pin else "not pinned", flush=True)
        print(f"nx-27017 as it serves itself: seeding {args.operations} ...", flush=True)
        stock = measure(stock_part(run_dir), args)
        print(f"as the stack serves it (stack/store_server.py): seeding {args.operations} ...", flush=True)
        ours = measure(store_part(run_dir), args)
    print(report(stock, ours, args.clients))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
