"""The host-pace probe: what a window of samples says, that the machine's own load does not fool it, and
the time the host steals, as /proc/stat counts it."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time

import pytest

from harness import objectives
from harness.waiting import wait_for
from loadtests import runner
from loadtests.pace import MIN_SAMPLES, SLOWED, WORK_STEPS, Pace, PaceProbe, describe_slowed, time_work
from loadtests.procs import STOLEN, CpuMeter, cpu_seconds, cpu_times

FAST, SLOW = 0.62, 1.18  # ms: the two paces the probe reads on this machine's host
LONG_WORK = 16 * WORK_STEPS  # ~10 ms


def _history(pace: Pace, cpu: int, ms: float, count: int = 100, start: float = 0.0) -> None:
    for i in range(count):
        pace.record(cpu, start + i * 0.25, ms)


def _window(pace: Pace, cpu: int, slow_every: int, start: float = 100.0, count: int = 24) -> None:
    """`count` samples from `start`, every `slow_every`-th of them at the slow pace."""
    for i in range(count):
        pace.record(cpu, start + i * 0.25, SLOW if i % slow_every == 0 else FAST)


def test_a_window_at_the_slow_pace_for_half_its_samples_is_slowed() -> None:
    pace = Pace()
    _history(pace, 0, FAST)
    _window(pace, 0, slow_every=2)
    slowed = pace.slowed(100.0, 106.0)
    assert set(slowed) == {0}
    assert slowed[0].factor == pytest.approx((FAST + SLOW) / 2 / FAST, rel=0.01)


def test_a_window_slow_for_a_sample_in_six_is_not() -> None:
    pace = Pace()
    _history(pace, 0, FAST)
    _window(pace, 0, slow_every=6)
    factor = pace.slowdown(100.0, 106.0)[0].factor
    assert 1.0 < factor < SLOWED
    assert pace.slowed(100.0, 106.0) == {}


def test_each_cpu_is_judged_against_its_own_best() -> None:
    pace = Pace()
    _history(pace, 0, FAST)
    _history(pace, 1, 0.9)  # a CPU that is slower at its best is not slowed for that
    _window(pace, 0, slow_every=1)
    _history(pace, 1, 0.9, count=24, start=100.0)
    assert set(pace.slowed(100.0, 106.0)) == {0}


def test_one_freak_fast_sample_does_not_set_the_best() -> None:
    pace = Pace()
    _history(pace, 0, FAST)
    pace.record(0, 50.0, 0.1)
    assert pace.best(0) == FAST


def test_too_few_samples_say_nothing() -> None:
    pace = Pace()
    _history(pace, 0, FAST)
    _window(pace, 0, slow_every=1, count=MIN_SAMPLES - 1)
    assert pace.slowdown(100.0, 106.0) == {}
    assert Pace().best(0) is None, "no samples: no best to judge by"


def _steal(pace: Pace, cpu: int, share: float, start: float = 100.0, seconds: float = 6.0) -> None:
    """Steal readings every 0.25 s from `start`, the counter rising by `share` of the time."""
    for i in range(int(seconds / 0.25) + 1):
        pace.record_steal(cpu, start + i * 0.25, 5000.0 + share * i * 0.25)


def test_a_cpu_at_full_pace_with_a_quarter_of_its_time_stolen_is_slowed() -> None:
    pace = Pace()
    _history(pace, 0, FAST)
    _history(pace, 0, FAST, count=24, start=100.0)  # the work at its full pace throughout
    _steal(pace, 0, 0.25)
    slowed = pace.slowed(100.0, 106.0)
    assert slowed[0].stolen == pytest.approx(0.25, rel=0.01)
    assert slowed[0].factor == pytest.approx(1 / 0.75, rel=0.01)
    assert "25% of the time stolen" in describe_slowed(slowed)


def test_steal_and_slow_work_add_up() -> None:
    """A sixth of the work at the slow pace (alone not slowed, above) and a tenth of the time stolen stay
    under the bound; with a fifth stolen, the same work is slowed."""
    for stolen, judged in ((0.1, False), (0.2, True)):
        pace = Pace()
        _history(pace, 0, FAST)
        _window(pace, 0, slow_every=6)
        _steal(pace, 0, stolen)
        window = pace.slowdown(100.0, 106.0)[0]
        assert window.factor == pytest.approx(window.work / (1 - stolen), rel=0.01)
        assert (0 in pace.slowed(100.0, 106.0)) is judged, (stolen, window)


def test_proc_stat_steal_is_its_own_column_not_busy_time() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal guest guest_nice, as proc(5) orders them
    stat = (
        f"cpu  {3 * ticks} 0 {ticks} {50 * ticks} {ticks} 0 {ticks} {2 * ticks} 0 0\n"
        f"cpu0 {3 * ticks} 0 {ticks} {50 * ticks} {ticks} 0 {ticks} {2 * ticks} 0 0\n"
        "intr 12345 0 0\nctxt 999\n"
    )
    times = cpu_times(stat)
    assert set(times) == {"cpu", "cpu0"}
    assert times["cpu0"].busy == pytest.approx(5.0)  # user 3 + system 1 + softirq 1: not idle, iowait, steal
    assert times["cpu0"].stolen == pytest.approx(2.0)


def test_this_machines_steal_counters_add_up_and_the_probe_reads_them() -> None:
    times = cpu_times()
    cpus = sorted(os.sched_getaffinity(0))
    per_cpu = [name for name in times if name != "cpu"]
    assert len(per_cpu) >= len(cpus)
    # The machine's line is the sum of its CPUs' (each read in ticks, so equal to a tick per CPU).
    assert sum(times[name].stolen for name in per_cpu) == pytest.approx(
        times["cpu"].stolen, abs=len(per_cpu) / os.sysconf("SC_CLK_TCK")
    )
    probe = PaceProbe(cpus, every=0.02).start()
    try:
        wait_for(
            lambda: all(len(probe.pace.steal.get(cpu, ())) >= 3 for cpu in cpus),
            timeout=30,
            what="the probe to read every CPU's steal",
        )
    finally:
        probe.stop()
    for cpu in cpus:
        readings = [seconds for _, seconds in probe.pace.steal[cpu]]
        assert readings == sorted(readings), "a steal counter only grows"
        assert 0.0 <= probe.pace.stolen(cpu, 0.0, time.monotonic()) <= 1.0


def _spinner(cpu: int, seconds: int = 60) -> subprocess.Popen[bytes]:
    """A process that keeps `cpu` busy for up to `seconds` (killed sooner by the test)."""
    loop = f"import time\nend = time.time() + {seconds}\nwhile time.time() < end: pass"
    return subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-c", loop])


def test_the_meter_reads_a_cpu_kept_busy_as_busy() -> None:
    """The bench's "CPUs busy" line: a CPU a process spins on reads near 100 %, whoever else runs."""
    cpu = max(os.sched_getaffinity(0))
    spinner = _spinner(cpu)
    try:
        meter = CpuMeter({"spinner": spinner.pid})
        stolen_before, started = cpu_times()[f"cpu{cpu}"].stolen, time.monotonic()
        meter.start()
        wait_for(lambda: cpu_seconds(spinner.pid) >= 1.0, timeout=30, what="the spinner to use a CPU second")
        busy = meter.busy_by_cpu({cpu})
        stolen = 100 * (cpu_times()[f"cpu{cpu}"].stolen - stolen_before) / (time.monotonic() - started)
    finally:
        spinner.kill()
        spinner.wait(10)
    assert set(busy) == {cpu}
    # What the host stole from the CPU is neither busy nor idle; /proc/stat counts in ticks (1/100 s).
    assert busy[cpu] + stolen >= 85 and busy[cpu] <= 105, (busy, stolen)


def test_the_machines_own_load_does_not_read_as_a_slow_host() -> None:
    """A CPU shared with a busy process (nice 0, as the replica is) gives the probe less of its time,
    not a slower CPU: the work's CPU time stays the same. Paired samples, one with the busy process
    stopped and one with it running, a few ms apart, so a change in the host's pace hits both alike.
    Each piece is 10 ms, longer than the scheduler lets one task run while another waits, so a probe
    that read wall time would see the pair's ratio near 2."""
    cpu = min(os.sched_getaffinity(0))
    busy = _spinner(cpu)
    me = os.getpid()
    mask = os.sched_getaffinity(me)
    ratios = []
    try:
        os.sched_setaffinity(me, {cpu})
        for _ in range(40):
            busy.send_signal(signal.SIGSTOP)
            time.sleep(0.005)
            alone = time_work(LONG_WORK)
            busy.send_signal(signal.SIGCONT)
            time.sleep(0.02)  # the busy process holds the CPU again
            ratios.append(time_work(LONG_WORK) / alone)
    finally:
        os.sched_setaffinity(me, mask)
        busy.kill()
        busy.wait(10)
    assert statistics.median(ratios) < 1.15, f"median ratio shared/alone {statistics.median(ratios):.2f}"


def test_the_probe_samples_every_cpu_until_stopped() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    probe = PaceProbe(cpus, every=0.02).start()
    try:
        wait_for(
            lambda: all(len(probe.pace.samples.get(cpu, ())) >= MIN_SAMPLES for cpu in cpus),
            timeout=30,
            what="the probe to sample every CPU",
        )
    finally:
        probe.stop()
    counts = {cpu: len(probe.pace.samples[cpu]) for cpu in cpus}
    assert all(probe.pace.best(cpu) for cpu in cpus)
    time.sleep(0.2)  # well over `every`: a probe still running would add samples
    assert {cpu: len(probe.pace.samples[cpu]) for cpu in cpus} == counts, "samples after stop()"


def test_a_load_run_warns_when_the_host_stole_much_of_its_time() -> None:
    """CpuSampler's shares are of one core; the bound is a share of the whole machine's time."""
    quiet = {"cpu_max": {"locust": 40.0}, "iterations": 1000, "late": 0}
    cores = os.cpu_count() or 1
    bound = objectives.current().load_gates.host_steal_warning
    stolen = [line for line in runner._warnings(quiet, {STOLEN: 2 * bound * cores}) if "WARN host" in line]
    assert len(stolen) == 1 and f"took {2 * bound:.0%} of this machine's CPU time" in stolen[0]
    assert runner._warnings(quiet, {STOLEN: bound * cores / 2}) == []
    assert runner._warnings(quiet, {}) == [], "no samples (a run under two seconds): nothing to say"
