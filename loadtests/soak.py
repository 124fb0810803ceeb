"""The memory soak: the replica's RSS sampled from /proc while wrk keeps a read load on it, then judged."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

from loadtests.procs import rss_bytes
from loadtests.stats import RssVerdict, mib, rss_slope, rss_verdict

RSS_LIMIT = 200 * 1024 * 1024
RSS_MAX_GROWTH = 0.10
WARMUP_SHARE = 0.2  # the first fifth of the soak fills caches and pools; growth is judged after it
SAMPLE_SECONDS = 10.0


def criteria(seconds: int) -> str:
    return (
        f"RSS sampled every {SAMPLE_SECONDS:.0f} s; verdict: RSS always < {mib(RSS_LIMIT):.0f} MiB and "
        f"the mean of the last third of samples after a {WARMUP_SHARE * seconds:.0f} s warm-up "
        f"< {RSS_MAX_GROWTH:.0%} above the first third's"
    )


def sample_rss(
    run: subprocess.Popen[str], pid: int, seconds: int, grace: float, say: Callable[[str], None]
) -> list[tuple[float, int]]:
    """(seconds since start, RSS bytes) from now until `run` ends: at the start, every
    SAMPLE_SECONDS, and at the end."""
    started = time.monotonic()
    samples: list[tuple[float, int]] = []

    def sample(label: str = "") -> None:
        samples.append((time.monotonic() - started, rss_bytes(pid)))
        say(f"soak: t={samples[-1][0]:4.0f} s RSS {mib(samples[-1][1]):6.1f} MiB{label}")

    sample()
    while run.poll() is None:
        elapsed = time.monotonic() - started
        if elapsed > seconds + grace:
            raise TimeoutError(f"the soak's load run did not end {grace:.0f} s after its {seconds} s")
        try:
            run.wait(max(0.0, SAMPLE_SECONDS * len(samples) - elapsed))
        except subprocess.TimeoutExpired:
            sample()
    sample(" (load over)")
    return samples


def judge(samples: list[tuple[float, int]], seconds: int) -> RssVerdict:
    verdict = rss_verdict(samples, WARMUP_SHARE * seconds, RSS_LIMIT, RSS_MAX_GROWTH)
    if samples:
        slope = rss_slope(samples, WARMUP_SHARE * seconds)
        print(
            f"soak RSS: start {mib(samples[0][1]):.1f} MiB, end {mib(samples[-1][1]):.1f} MiB, "
            f"max {mib(max(rss for _, rss in samples)):.1f} MiB over {samples[-1][0]:.0f} s; slope after "
            f"warm-up " + (f"{mib(int(slope)):+.2f} MiB/min" if slope is not None else "n/a")
        )
    growth = f"{verdict.growth:+.1%}" if verdict.growth is not None else "n/a"
    print(
        f"soak verdict: {'PASS' if verdict.ok else 'FAIL'}: final RSS {mib(verdict.final_bytes):.1f} MiB "
        f"(limit {mib(RSS_LIMIT):.0f}), growth {growth} (limit {RSS_MAX_GROWTH:.0%}): {verdict.reason}\n",
        flush=True,
    )
    return verdict
