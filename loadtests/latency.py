"""Latencies recorded by the harness itself, exact to the precision the gates need.

Locust's own statistics round a response time to two significant digits and mix failed requests into
the percentiles. Here every successful request's time goes into a bucket 0.1 ms wide under 100 ms and
0.1 % wide above (log-linear, like HdrHistogram with three significant digits), failures are only
counted, and a percentile is read as nearest-rank, so a reported p99 is within 0.05 ms of the exact
one under 100 ms and within 0.05 % above: finer than the 1 ms / 1 % the gates are stated in.

Histograms are plain counts per bucket index, so a worker's can be sent to the master (msgpack) and
merged by adding: the gates read the merged counts, never an average of percentiles.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

LINEAR_LIMIT_MS = 100.0
LINEAR_STEP_MS = 0.1
LINEAR_BUCKETS = int(LINEAR_LIMIT_MS / LINEAR_STEP_MS)
LOG_RATIO = 1.001  # each bucket above 100 ms is 0.1 % wider than the one before
_LOG_STEP = math.log(LOG_RATIO)


def bucket(ms: float) -> int:
    """The bucket index of a latency in milliseconds."""
    if ms < LINEAR_LIMIT_MS:
        return max(0, int(ms / LINEAR_STEP_MS))
    return LINEAR_BUCKETS + int(math.log(ms / LINEAR_LIMIT_MS) / _LOG_STEP)


def value(index: int) -> float:
    """The latency a bucket stands for: its midpoint, so the error is at most half its width."""
    if index < LINEAR_BUCKETS:
        return (index + 0.5) * LINEAR_STEP_MS
    return LINEAR_LIMIT_MS * LOG_RATIO ** (index - LINEAR_BUCKETS + 0.5)


def precision_ms(exact_ms: float) -> float:
    """How far a reported percentile may be from the exact one, as the gates state it: 1 ms under
    100 ms, 1 % above."""
    return 1.0 if exact_ms < LINEAR_LIMIT_MS else exact_ms * 0.01


def exact_percentile(samples: list[float], quantile: float) -> float:
    """Nearest-rank percentile of raw samples: the reference the histogram is held to."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


@dataclass
class Latencies:
    """One route group's requests: successful latencies by bucket, failures by reason."""

    buckets: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> int:
        return sum(self.buckets.values())

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def total(self) -> int:
        return self.ok + self.failed

    def record(self, ms: float) -> None:
        self.buckets[bucket(ms)] += 1

    def fail(self, reason: str) -> None:
        self.failures[reason] += 1

    def add(self, other: Latencies) -> None:
        self.buckets.update(other.buckets)
        self.failures.update(other.failures)

    def percentile(self, quantile: float) -> float | None:
        """Nearest-rank percentile in ms of the successful requests; None when there were none."""
        count = self.ok
        if not count:
            return None
        rank = max(1, math.ceil(quantile * count))
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return value(index)
        raise AssertionError("unreachable: rank is at most the count")

    def above(self, ms: float) -> int:
        """Successful requests slower than `ms` (whole buckets above its bucket)."""
        limit = bucket(ms)
        return sum(n for index, n in self.buckets.items() if index > limit)

    def error_ratio(self) -> float | None:
        return self.failed / self.total if self.total else None

    def to_wire(self) -> dict[str, Any]:
        """For msgpack and JSON: string keys only."""
        return {
            "buckets": [[index, n] for index, n in sorted(self.buckets.items())],
            "failures": dict(self.failures),
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Latencies:
        return cls(
            Counter({int(index): int(n) for index, n in wire["buckets"]}),
            Counter({str(k): int(v) for k, v in wire["failures"].items()}),
        )


class ByGroup(dict[str, Latencies]):
    """Latencies per route group."""

    def of(self, group: str) -> Latencies:
        if group not in self:
            self[group] = Latencies()
        return self[group]

    def merge(self, other: ByGroup) -> None:
        for group, latencies in other.items():
            self.of(group).add(latencies)

    def to_wire(self) -> dict[str, Any]:
        return {group: latencies.to_wire() for group, latencies in sorted(self.items())}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> ByGroup:
        return cls({group: Latencies.from_wire(entry) for group, entry in wire.items()})
