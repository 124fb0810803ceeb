"""How the benchmark prints: timestamped progress lines and the side-by-side table."""

from __future__ import annotations

import time
from dataclasses import dataclass

from loadtests.wrk import WrkResult


class Progress:
    """Print lines stamped with the seconds since the benchmark started."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self._started:6.1f}s] {message}", flush=True)


@dataclass(frozen=True)
class Row:
    label: str
    result: WrkResult
    share: float  # of the bare app's throughput


def describe(result: WrkResult) -> str:
    errors = ", ".join(f"{code}: {count}" for code, count in sorted(result.statuses.items()))
    if result.socket_errors:
        errors = ", ".join(filter(None, [errors, f"socket errors/timeouts: {result.socket_errors}"]))
    return (
        f"{result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"{result.requests} requests, errors {result.errors} ({result.error_rate:.2%})"
        + (f" [{errors}]" if errors else "")
    )


def table(rows: list[Row]) -> str:
    width = max(len(row.label) for row in rows)
    lines = [
        f"{'endpoint':<{width}}  {'req/s':>8}  {'p50 ms':>7}  {'p99 ms':>7}  {'errors':>7}  {'vs bare':>8}"
    ]
    for row in rows:
        r = row.result
        lines.append(
            f"{row.label:<{width}}  {r.rps:>8.1f}  {r.p50_ms:>7.1f}  {r.p99_ms:>7.1f}  "
            f"{r.errors:>7}  {row.share:>8.1%}"
        )
    return "\n".join(lines)
