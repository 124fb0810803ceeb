"""How the benchmark prints: timestamped progress lines and the side-by-side table."""

from __future__ import annotations

import time
from collections.abc import Callable
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


def server_table(measured: dict[str, list[tuple[WrkResult, float] | None]], first: str) -> str:
    """Per contender (columns) and endpoint (rows: bare, read, write; each a result and the % of one
    core the target used): req/s, then req per CPU-second of the target, each with its ratio to
    contender `first`'s; then the read and write paths as shares of bare. On a machine shared with
    other work the target may not get its whole core: requests per CPU-second still compare."""
    labels = list(measured)
    width = max(12, *(len(label) for label in labels)) + 10
    lines = [f"{'':<14}" + "".join(f"{label:>{width}}" for label in labels)]
    figures: dict[str, Callable[[WrkResult, float], float]] = {
        "req/s": lambda result, cpu: result.rps,
        "req/CPU-s": lambda result, cpu: result.rps / (cpu / 100) if cpu > 0 else 0.0,
    }
    for unit, figure in figures.items():
        lines.append(f"{unit} (x: ratio to {first})")
        for index, endpoint in enumerate(("bare", "read", "write")):
            reference = measured[first][index]
            base = figure(*reference) if reference is not None else 0.0
            cells = []
            for label in labels:
                run = measured[label][index]
                if run is None:
                    cells.append(f"{'-':>{width}}")
                    continue
                value = figure(*run)
                ratio = f"{value / base:.2f}x" if base else ""
                cells.append(f"{value:>{width - 8}.0f} {ratio:>7}")
            lines.append(f"  {endpoint:<12}" + "".join(cells))
    for index, endpoint in ((1, "read"), (2, "write")):
        cells = []
        for label in labels:
            bare, run = measured[label][0], measured[label][index]
            ok = bare is not None and run is not None and bare[0].rps > 0
            cells.append(f"{run[0].rps / bare[0].rps:>{width}.1%}" if ok else f"{'-':>{width}}")  # type: ignore[index]
        lines.append(f"{endpoint + '/bare':<14}" + "".join(cells))
    return "\n".join(lines)
