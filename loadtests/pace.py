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

The host also takes whole stretches of time from a CPU that has work (steal: the hypervisor runs
something else on the physical CPU). The kernel keeps that out of every thread's CPU time (with
CONFIG_PARAVIRT_TIME_ACCOUNTING, which this machine's kernel has, `update_rq_clock_task` in
kernel/sched/core.c subtracts the steal clock), so the work's time cannot show it; /proc/stat counts it
per CPU, and the probe reads it beside every sample. Seen here (2026-12-03 21:01, `tronops bench`):
2 to 28 % of each CPU's time in a run, mostly in the runs with many wake-ups (a busy loop alone was
stolen ~0 %), and counted until then as "other work on the machine". A CPU's slowdown over a window is
both: the work's time over its best, divided by the share of the window the CPU was left to run.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harness.waiting import WaitTimeout, wait_for
from loadtests.procs import cpu_times

WORK_STEPS = 20_000  # ~0.6 ms of pure-Python work on this machine at its full pace
# A CPU that got this many times less done over a window than at its full pace was slowed: about a
# third of the window at the slow pace (~1.9x), or a quarter of it stolen. In one bench here, write runs
# whose samples' median read 1.33-1.38x made 507-545 req/s, those at 1.5-2.1x made 359-360.
SLOWED = 1.3
REFERENCE_PERCENTILE = 5  # a CPU's full pace: this percentile of its samples (the fastest, less outliers)
MIN_SAMPLES = 8  # fewer samples than this in a window cannot say the CPU was slowed
NOTED = 0.01  # a share of the time stolen worth naming beside a slowdown
MAX_STOLEN = 0.9  # a window stolen wholly (a CPU the host never ran) still gives a finite factor


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


@dataclass(frozen=True)
class Slowdown:
    """How a CPU ran over a window against its full pace."""

    work: float  # the fixed work's mean CPU time over its best (1.0: full pace)
    stolen: float  # the share of the window the host kept the CPU from running (steal)

    @property
    def factor(self) -> float:
        """How many times less the CPU could get done: slower work, in less of the time."""
        return self.work / (1 - min(self.stolen, MAX_STOLEN))


@dataclass
class Pace:
    """Samples of the fixed work's CPU time and of the time stolen, per CPU, and what they say about a
    window of time."""

    samples: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # cpu -> [(monotonic, ms)]
    steal: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # cpu -> [(monotonic, s)]

    def record(self, cpu: int, at: float, ms: float) -> None:
        self.samples.setdefault(cpu, []).append((at, ms))

    def record_steal(self, cpu: int, at: float, stolen_seconds: float) -> None:
        """The CPU's steal counter (seconds since boot, /proc/stat) read at `at`."""
        self.steal.setdefault(cpu, []).append((at, stolen_seconds))

    def best(self, cpu: int) -> float | None:
        """The CPU's full pace: the work's CPU time at a low percentile of every sample so far."""
        times = sorted(ms for _, ms in self.samples.get(cpu, ()))
        if len(times) < MIN_SAMPLES:
            return None
        return times[len(times) * REFERENCE_PERCENTILE // 100]

    def stolen(self, cpu: int, since: float, until: float) -> float:
        """The share of [since, until] the host took from the CPU, between the first and the last
        reading inside it; 0 with fewer than two readings."""
        window = [(at, seconds) for at, seconds in self.steal.get(cpu, ()) if since <= at <= until]
        if len(window) < 2 or window[-1][0] <= window[0][0]:
            return 0.0
        (first_at, first), (last_at, last) = window[0], window[-1]
        return max(0.0, (last - first) / (last_at - first_at))

    def slowdown(self, since: float, until: float) -> dict[int, Slowdown]:
        """Per CPU with enough samples in [since, until]: their mean over the CPU's best, and the share
        of the window stolen (factor 1.0: full pace; 1.8: it got 1.8x less done)."""
        found = {}
        for cpu, samples in list(self.samples.items()):  # the probe's thread may add a CPU meanwhile
            window = [ms for at, ms in samples if since <= at <= until]
            best = self.best(cpu)
            if best and len(window) >= MIN_SAMPLES:
                found[cpu] = Slowdown(statistics.fmean(window) / best, self.stolen(cpu, since, until))
        return found

    def slowed(self, since: float, until: float) -> dict[int, Slowdown]:
        """The CPUs the host slowed during [since, until], with by how much."""
        return {cpu: s for cpu, s in self.slowdown(since, until).items() if s.factor >= SLOWED}


def describe_slowed(slowed: dict[int, Slowdown]) -> str:
    def parts(s: Slowdown) -> str:
        if s.stolen < NOTED:
            return ""
        return f" (work {s.work:.2f}x its CPU time, {s.stolen:.0%} of the time stolen)"

    return ", ".join(
        f"CPU {cpu} {s.factor:.2f}x slower than its best{parts(s)}" for cpu, s in sorted(slowed.items())
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
            at, times = time.monotonic(), cpu_times()
            for cpu in self.cpus:
                self.pace.record_steal(cpu, at, times[f"cpu{cpu}"].stolen)
            self._stop.wait(self.every)

    def await_full_pace(self, timeout: float, over: float, say: Callable[[str], None]) -> bool:
        """Wait until no CPU was slowed over the last `over` seconds, `timeout` at most; True if so."""
        slowed = self._slowed_lately(over)
        if not slowed:
            return True
        say(
            f"the host is running this machine slow, {describe_slowed(slowed)}; waiting up to "
            f"{timeout:.0f} s for its full pace before measuring ..."
        )
        try:
            wait_for(lambda: not self._slowed_lately(over), timeout, "the host's full pace", self.every)
        except WaitTimeout:
            return False
        return True

    def _slowed_lately(self, over: float) -> dict[int, Slowdown]:
        now = time.monotonic()
        return self.pace.slowed(now - over, now)
