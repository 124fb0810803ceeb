"""Process facts from /proc (CPU time, RSS), CPU pinning, and the bare app as a child process."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from stack.processes import PYTHON, Part, free_port, http_ok

_TICKS = os.sysconf("SC_CLK_TCK")
OTHERS = "everything else"  # CpuMeter's name for the CPU used by processes it was not given


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


def machine_busy_seconds() -> float:
    """CPU time spent by everything on the machine so far, all CPUs together (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / _TICKS  # all but idle and iowait


def machine_busy_share(seconds: float) -> float:
    """How busy the whole machine is now: the fraction of all its CPUs' time used over `seconds`."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / (seconds * (os.cpu_count() or 1))


class CpuMeter:
    """CPU use of named processes, and of everything else on the machine, between `start()` and
    `shares()`, as % of one core: other work on the box would skew the figures, so it is shown."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._before: dict[str, float] = {}
        self._machine = 0.0
        self.started = 0.0  # time.monotonic() at start()

    def start(self) -> None:
        self._before = {name: cpu_seconds(pid) for name, pid in self._pids.items()}
        self._machine = machine_busy_seconds()
        self.started = time.monotonic()

    def shares(self) -> dict[str, float]:
        """Read while the processes still run: an exited one reads as 0."""
        elapsed = time.monotonic() - self.started
        used = {name: cpu_seconds(pid) - self._before[name] for name, pid in self._pids.items()}
        used[OTHERS] = max(0.0, machine_busy_seconds() - self._machine - sum(used.values()))
        return {name: 100 * seconds / elapsed for name, seconds in used.items()}


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
