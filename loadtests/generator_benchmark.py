"""The load generators' own ceiling: Locust (one process, FastHttpUser) against wrk on the same bare
Quart hello-world, each pinned to its own core with the app on the other, as requests a second per
generator core. A release load run on this machine cannot be told apart from its generator's limit
past Locust's figure: add `--workers`.

    python -m loadtests.generator_benchmark [--seconds 10]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loadtests import wrk
from loadtests.procs import cpu_seconds, hello_part, pin

APP_CPU, GENERATOR_CPU = {0}, {1}
LOCUST_USERS = 32
WRK_CONNECTIONS = 32


def _busy_until_exit(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> float:
    """CPU seconds the process used from now until it exits (the last reading before it is gone)."""
    first = last = cpu_seconds(process.pid)
    while process.poll() is None:
        time.sleep(0.2)
        last = cpu_seconds(process.pid) or last
    return last - first


def _locust(url: str, seconds: int, out: Path) -> tuple[float, float]:
    """(req/s, requests per CPU-second) of one Locust process."""
    argv = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("hello_locustfile.py")),
        "--headless", "-H", url, "-u", str(LOCUST_USERS), "-r", str(LOCUST_USERS),
        "--run-time", f"{seconds}s", "--csv", str(out / "hello"), "--only-summary", "--loglevel", "ERROR",
    ]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pin(process.pid, GENERATOR_CPU)
    busy = _busy_until_exit(process)
    with (out / "hello_stats.csv").open() as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] == "Aggregated")
    return float(row["Requests/s"]), int(row["Request Count"]) / busy


def _wrk(url: str, seconds: int, out: Path) -> tuple[float, float]:
    binary = wrk.ensure_installed()
    plan = wrk.Plan("GET", ["/"])
    process = wrk.start(
        binary, url, plan, out / "plan.lua", seconds=seconds, connections=WRK_CONNECTIONS, cpus=GENERATOR_CPU
    )
    busy = _busy_until_exit(process)
    result = wrk.collect(process, grace=30)
    return result.rps, result.requests / busy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10, help="per generator")
    args = parser.parse_args(argv)
    if (os.cpu_count() or 1) < 2:
        print("needs two cores: one for the app, one for the generator")
        return 2
    with tempfile.TemporaryDirectory(prefix="generator-bench-") as scratch:
        out = Path(scratch)
        app = hello_part(out).start()
        try:
            pin(app.pid, APP_CPU)
            rows = [
                ("wrk", *_wrk(app.url, args.seconds, out)),
                ("locust", *_locust(app.url, args.seconds, out)),
            ]
        finally:
            app.stop()
    print(f"{'generator':<10} {'req/s':>9} {'req/s per generator core':>26}")
    for name, rps, per_core in rows:
        print(f"{name:<10} {rps:>9.0f} {per_core:>26.0f}")
    (_, wrk_rps, wrk_per_core), (_, _, locust_per_core) = rows
    print(
        f"Locust's ceiling here: {locust_per_core:.0f} req/s per worker core, "
        f"{locust_per_core / wrk_per_core:.0%} of wrk's "
        f"(both measured against an app that peaks near {wrk_rps:.0f} req/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
