"""The host's pace: how fast this machine's CPUs run a fixed piece of work, sampled through a benchmark.

On a virtual machine the host can slow every CPU at once (a busy neighbour on the same physical core,
a lowered clock): the same code then costs more CPU time per request, and a throughput measured
meanwhile is low for a reason no process on the machine shows, so `CpuMeter` cannot see it. Seen
here (one `tronops bench --servers uvicorn --baseline none --rounds 5 --duration 10`, 2026-12-03): the
fixed work below took 0.62-0.72 ms of CPU time for three minutes, then 1.16-1.20 ms on both CPUs for
about a minute; the round measured in that minute read 2,852 req/s and wrote 319 against 3,410-3,647
and 476-560 in the other four, and the replica and the store each spent ~1.8x the CPU per payout.
The same slowdown showed with the benchmark stopped, and load on one CPU did not slow the other (a busy
loop on CPU 1 in 2 s phases: CPU 0's samples as slow with it as without): it is the host. Each sample
is either fast (0.6-0.7 ms) or slow (1.1-1.3 ms), switching within seconds, so a window's mean, not its
median, says how much of it the CPU ran slow.

The probe times the work in the thread's own CPU time (`thread_time`), so waiting for a CPU that the
machine's own processes hold does not count: only the CPU running slower does. It runs on each CPU in
turn (the thread re-pins itself), one piece of ~0.6 ms per CPU every `every` seconds: 0.25 % of a core.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harness.waiting import WaitTimeout, wait_for

WORK_STEPS = 20_000  # ~0.6 ms of pure-Python work on this machine at its full pace
# A CPU whose work took, on average over a window, this many times its best was slowed: about a third
# of the window at the slow pace (~1.9x). In one bench here, write runs whose samples' median read
# 1.33-1.38x made 507-545 req/s, those at 1.5-2.1x made 359-360.
SLOWED = 1.3
REFERENCE_PERCENTILE = 5  # a CPU's full pace: this percentile of its samples (the fastest, less outliers)
MIN_SAMPLES = 8  # fewer samples than this in a window cannot say the CPU was slowed


def _work(steps: int) -> int:
    total = 0
    for step in range(steps):
        total += step * step % 7
    return total


def time_work(steps: int = WORK_STEPS) -> float:
    """CPU time, in ms, the calling thread spent on the fixed piece of work (`steps` long)."""
    started = time.thread_time()
    _work(steps)
    return (time.thread_time() - started) * 1000


@dataclass
class Pace:
    """Samples of the fixed work's CPU time, per CPU, and what they say about a window of time."""

    samples: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # cpu -> [(monotonic, ms)]

    def record(self, cpu: int, at: float, ms: float) -> None:
        self.samples.setdefault(cpu, []).append((at, ms))

    def best(self, cpu: int) -> float | None:
        """The CPU's full pace: the work's CPU time at a low percentile of every sample so far."""
        times = sorted(ms for _, ms in self.samples.get(cpu, ()))
        if len(times) < MIN_SAMPLES:
            return None
        return times[len(times) * REFERENCE_PERCENTILE // 100]

    def slowdown(self, since: float, until: float) -> dict[int, float]:
        """Per CPU with enough samples in [since, until]: their mean over the CPU's best (1.0: full
        pace, 1.8: the work took 1.8x its CPU time on average)."""
        factors = {}
        for cpu, samples in list(self.samples.items()):  # the probe's thread may add a CPU meanwhile
            window = [ms for at, ms in samples if since <= at <= until]
            best = self.best(cpu)
            if best and len(window) >= MIN_SAMPLES:
                factors[cpu] = statistics.fmean(window) / best
        return factors

    def slowed(self, since: float, until: float) -> dict[int, float]:
        """The CPUs the host slowed during [since, until], with by how much."""
        return {cpu: f for cpu, f in self.slowdown(since, until).items() if f >= SLOWED}


def describe_slowed(slowed: dict[int, float]) -> str:
    return ", ".join(
        f"CPU {cpu} {factor:.2f}x slower than its best" for cpu, factor in sorted(slowed.items())
    )


class PaceProbe:
    """A daemon thread that samples each of `cpus` every `every` seconds into `pace`."""

    def __init__(self, cpus: Iterable[int], every: float = 0.25) -> None:
        self.cpus = sorted(cpus)
        self.every = every
        self.pace = Pace()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="pace-probe", daemon=True)

    def start(self) -> PaceProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _sample(self) -> None:
        me = threading.get_native_id()  # pins this thread only, not the benchmark's others
        while not self._stop.is_set():
            for cpu in self.cpus:
                os.sched_setaffinity(me, {cpu})
                ms = time_work()
                self.pace.record(cpu, time.monotonic(), ms)
            self._stop.wait(self.every)

    def await_full_pace(self, timeout: float, over: float, say: Callable[[str], None]) -> bool:
        """Wait until no CPU was slowed over the last `over` seconds, `timeout` at most; True if so."""
        slowed = self._slowed_lately(over)
        if not slowed:
            return True
        say(
            f"the host is running this machine slow ({describe_slowed(slowed)}): waiting up to "
            f"{timeout:.0f} s for its full pace before measuring ..."
        )
        try:
            wait_for(lambda: not self._slowed_lately(over), timeout, "the host's full pace", self.every)
        except WaitTimeout:
            return False
        return True

    def _slowed_lately(self, over: float) -> dict[int, float]:
        now = time.monotonic()
        return self.pace.slowed(now - over, now)
