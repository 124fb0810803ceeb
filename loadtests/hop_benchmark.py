"""What one round trip to a neighbour process costs when it runs on another CPU than its caller,
against the same round trip with both on one CPU: the hop every step of a payout makes in `tronops
bench`, which pins the replica to one CPU and the store, Redis and the devnet to the other.

    python -m loadtests.hop_benchmark [--round-trips 2000] [--rounds 3]

A Redis PING (the server's own work is microseconds, so its round trip is mostly the two wake-ups)
and a store ping (nx-27017's Python handler on the other end), each from one client that waits for
every answer, as a request waits for each of its store steps. Each round measures both placements,
alternating which goes first, so a change in the host's pace favours neither; the figures are the
medians of the rounds. Also printed: this machine's cpuidle driver and how long an idle CPU polls
before it halts (`guest_halt_poll_ns`): a CPU that halted is woken by the hypervisor, and that
wake-up is what a cross-CPU round trip pays on top of the work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import redis
from pymongo import MongoClient

from loadtests.latency import exact_percentile
from loadtests.procs import pin
from stack.processes import redis_part, store_part

SERVER_CPU, OTHER_CPU = 0, 1
PLACEMENTS = {"same CPU": {SERVER_CPU}, "other CPU": {OTHER_CPU}}
IDLE_FACTS = {
    "cpuidle driver": "/sys/devices/system/cpu/cpuidle/current_driver",
    "guest_halt_poll_ns": "/sys/module/haltpoll/parameters/guest_halt_poll_ns",
}


@dataclass(frozen=True)
class Spread:
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float


FIGURES = [figure.name for figure in fields(Spread)]


def spread(seconds: list[float]) -> Spread:
    ms = [1000 * s for s in seconds]
    p50, p90, p99 = (exact_percentile(ms, quantile) for quantile in (0.5, 0.9, 0.99))
    return Spread(p50, p90, p99, statistics.fmean(ms))


def round_trips(call: Callable[[], object], count: int) -> Spread:
    call()  # the first opens the connection
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return spread(times)


def median(spreads: list[Spread]) -> Spread:
    return Spread(*(statistics.median(getattr(s, name) for s in spreads) for name in FIGURES))


def idle_facts() -> str:
    facts = []
    for name, path in IDLE_FACTS.items():
        try:
            facts.append(f"{name} {Path(path).read_text().strip()}")
        except OSError:
            facts.append(f"{name} unknown (no {path})")
    return ", ".join(facts)


def measure(
    servers: dict[str, Callable[[], object]], count: int, rounds: int
) -> dict[str, dict[str, Spread]]:
    """{server: {placement: median Spread}}; this process is moved between the CPUs, the servers stay."""
    per_round: dict[str, dict[str, list[Spread]]] = {name: {p: [] for p in PLACEMENTS} for name in servers}
    for number in range(rounds):
        order = list(PLACEMENTS) if number % 2 == 0 else list(reversed(PLACEMENTS))
        for placement in order:
            os.sched_setaffinity(0, PLACEMENTS[placement])
            for name, call in servers.items():
                measured = round_trips(call, count)
                per_round[name][placement].append(measured)
                print(
                    f"round {number + 1}, {name}, client on the {placement}: p50 {measured.p50_ms:.3f} ms, "
                    f"p90 {measured.p90_ms:.3f}, p99 {measured.p99_ms:.3f}",
                    flush=True,
                )
    return {name: {p: median(s) for p, s in placements.items()} for name, placements in per_round.items()}


def report(results: dict[str, dict[str, Spread]], rounds: int) -> str:
    lines = [
        f"median of {rounds} rounds; the server on CPU {SERVER_CPU}, "
        f"its client on the same CPU or on CPU {OTHER_CPU}",
        f"{'round trip, ms':<24}{'':>6}{'same CPU':>12}{'other CPU':>12}{'ratio':>10}",
    ]
    for name, placements in results.items():
        same, other = placements["same CPU"], placements["other CPU"]
        for figure in FIGURES:
            before, after = getattr(same, figure), getattr(other, figure)
            label = figure.removesuffix("_ms")
            lines.append(f"  {name:<22}{label:>6}{before:>12.3f}{after:>12.3f}{after / before:>9.2f}x")
    lines.append("ratio: the other CPU's round trip over the same CPU's")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.hop_benchmark", description=__doc__)
    parser.add_argument("--round-trips", type=int, default=2000, help="per server, placement and round")
    parser.add_argument("--rounds", type=int, default=3, help="each placement measured this many times")
    args = parser.parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        parser.error("needs two CPUs: it compares a round trip within one CPU with one across two")
    if args.round_trips < 1 or args.rounds < 1:
        parser.error("--round-trips and --rounds must be at least 1")
    print(f"this machine: {idle_facts()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="hop-benchmark-") as tmp:
        run_dir = Path(tmp)
        cache, store = redis_part(run_dir), store_part(run_dir)
        try:
            for part in (cache, store):
                pin(part.start(timeout=30).pid, {SERVER_CPU})
            store_client: MongoClient[dict[str, object]] = MongoClient(store.url)
            servers: dict[str, Callable[[], object]] = {
                "redis PING": redis.Redis.from_url(cache.url).ping,
                "store ping": lambda: store_client["hop_benchmark"].command("ping"),
            }
            results = measure(servers, args.round_trips, args.rounds)
            store_client.close()
        finally:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
            store.stop()
            cache.stop()
    print(report(results, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
