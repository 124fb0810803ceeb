"""The benchmark's arithmetic, kept pure so it is unit-tested: user pools, shares, the RSS verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean

from harness import objectives

RATE_WINDOW_SECONDS = 60.0  # the service's limits are per user per fixed one-minute window
# Stay this far under a limit, so a window boundary or uneven spread never trips it.
RATE_HEADROOM = objectives.current().load_gates.rate_headroom


def pool_size(rate: float, seconds: float, limit_per_minute: int, safety: float = 1.5) -> int:
    """How many users a round-robin load of `rate` req/s for `seconds` needs so none is rate-limited.

    One user's share of any one-minute window is rate * min(seconds, 60) / users; `safety` covers a
    rate higher than the estimate.
    """
    per_window = safety * rate * min(seconds, RATE_WINDOW_SECONDS)
    return max(1, math.ceil(per_window / (limit_per_minute * RATE_HEADROOM)))


def share(measured_rps: float, bare_rps: float) -> float:
    """The fraction of the bare app's throughput a target keeps (0 when the bare run failed)."""
    return measured_rps / bare_rps if bare_rps > 0 else 0.0


@dataclass(frozen=True)
class RssVerdict:
    final_bytes: int
    growth: float | None  # mean of the last third over the first third of post-warm-up samples, minus 1
    ok: bool
    reason: str


def rss_verdict(
    samples: Sequence[tuple[float, int]], warmup_seconds: float, limit_bytes: int, max_growth: float
) -> RssVerdict:
    """Judge (seconds since start, RSS bytes) samples: small at the end and flat after warm-up."""
    if not samples:
        return RssVerdict(0, None, False, "no RSS samples")
    final = samples[-1][1]
    settled = [rss for at, rss in samples if at >= warmup_seconds]
    third = len(settled) // 3
    growth = fmean(settled[-third:]) / fmean(settled[:third]) - 1 if third else None
    problems = []
    peak = max(rss for _, rss in samples)  # it must stay under the limit, not only end under it
    if peak >= limit_bytes:
        problems.append(f"RSS reached {mib(peak):.1f} MiB >= {mib(limit_bytes):.0f} MiB")
    if growth is None:
        problems.append(f"only {len(settled)} samples after warm-up: need 3 or more to judge growth")
    elif growth >= max_growth:
        problems.append(f"grew {growth:.1%} (limit {max_growth:.0%})")
    return RssVerdict(final, growth, not problems, "; ".join(problems) or "small and flat")


def rss_slope(samples: Sequence[tuple[float, int]], warmup_seconds: float) -> float | None:
    """Least-squares slope of RSS after warm-up, in bytes per minute (None with fewer than 2 samples):
    a leak shows as a steady slope even when the thirds' means hide it in noise."""
    settled = [(at, rss) for at, rss in samples if at >= warmup_seconds]
    if len(settled) < 2:
        return None
    mean_t = fmean(at for at, _ in settled)
    mean_r = fmean(rss for _, rss in settled)
    spread = sum((at - mean_t) ** 2 for at, _ in settled)
    if spread == 0:
        return None
    return 60 * sum((at - mean_t) * (rss - mean_r) for at, rss in settled) / spread


def mib(size: int) -> float:
    return size / (1024 * 1024)
