"""Process facts from /proc (CPU time, RSS), CPU pinning, and the bare app as a child process."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from stack.processes import PYTHON, Part, free_port, http_ok

_TICKS = os.sysconf("SC_CLK_TCK")
OTHERS = "everything else"  # CpuMeter's name for the CPU used by processes it was not given
STOLEN = "stolen by the host"  # CpuMeter's name for the CPU time the hypervisor kept from the machine


def pin(pid: int, cpus: set[int]) -> None:
    """Pin every thread of `pid`, as `taskset -a -p` does: threads started earlier keep their own mask."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task.name), cpus)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (all threads) so far; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces; skip past it
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise ProcessLookupError(f"no VmRSS for pid {pid}")


@dataclass(frozen=True)
class CpuTimes:
    """One line of /proc/stat, in seconds since boot."""

    busy: float  # running anything of this machine's: all but idle, iowait and steal
    stolen: float  # runnable, but the hypervisor ran something else on the physical CPU (steal)


def cpu_times(stat: str | None = None) -> dict[str, CpuTimes]:
    """/proc/stat's `cpu` lines by name: "cpu" for the whole machine, "cpu0", "cpu1" ... for each CPU.
    Columns as proc(5) lists them: user nice system idle iowait irq softirq steal (guest time is
    already inside user). Steal is not this machine's work: where it was counted as busy, a host
    that took a tenth of the CPUs' time read as "other work on the machine"."""
    times = {}
    for line in (stat if stat is not None else Path("/proc/stat").read_text()).splitlines():
        if not line.startswith("cpu"):
            continue
        name, *columns = line.split()
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in columns[:8])
        busy = user + nice + system + irq + softirq
        times[name] = CpuTimes(busy / _TICKS, steal / _TICKS)
    return times


def machine_busy_seconds() -> float:
    """CPU time spent by everything on the machine so far, all CPUs together (steal not included)."""
    return cpu_times()["cpu"].busy


def machine_busy_share(seconds: float) -> float:
    """How busy the whole machine is now: the fraction of all its CPUs' time used over `seconds`."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / (seconds * (os.cpu_count() or 1))


class CpuMeter:
    """CPU use of named processes, of everything else on the machine, and what the host stole, between
    `start()` and `shares()`, as % of one core: other work on the box would skew the figures, so it is
    shown."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._before: dict[str, float] = {}
        self._cpus: dict[str, CpuTimes] = {}  # /proc/stat's lines at start(): "cpu" (all) and each CPU
        self.started = 0.0  # time.monotonic() at start()

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self._pids.items()}
        self._cpus = cpu_times()
        self.started = time.monotonic()

    def shares(self) -> dict[str, float]:
        """Read while the processes still run: an exited one reads as 0."""
        elapsed = time.monotonic() - self.started
        machine, before = cpu_times()["cpu"], self._cpus["cpu"]
        used = {name: cpu_seconds(pid) - self._before[name] for name, pid in self._pids.items()}
        used[OTHERS] = max(0.0, machine.busy - before.busy - sum(used.values()))
        used[STOLEN] = machine.stolen - before.stolen
        return {name: 100 * seconds / elapsed for name, seconds in used.items()}

    def busy_by_cpu(self, cpus: set[int]) -> dict[int, float]:
        """How busy each of `cpus` was since `start()`, % of its time, whatever ran on it (the kernel's
        work for the processes included): a CPU near 100 % is what bounds a run that uses it, even where
        no one process on it is."""
        elapsed = time.monotonic() - self.started
        now = cpu_times()
        names = {cpu: f"cpu{cpu}" for cpu in sorted(cpus)}
        return {cpu: 100 * (now[name].busy - self._cpus[name].busy) / elapsed for cpu, name in names.items()}


def http_module_part(name: str, module: str, run_dir: Path) -> Part:
    """A small HTTP server module of ours (`GET /` answers) as a process on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return Part(
        name,
        [PYTHON, "-m", module],
        run_dir / "logs" / f"{name}.log",
        lambda: http_ok(f"{url}/"),
        env={"HOST": "127.0.0.1", "PORT": str(port)},
        url=url,
    )


def hello_part(run_dir: Path) -> Part:
    """The bare Quart app, started the way the service is: `python -m`, its server in-process."""
    return http_module_part("hello", "loadtests.hello_app", run_dir)
