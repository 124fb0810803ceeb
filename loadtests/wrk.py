"""The load generator: wrk (C, epoll) driven by a Lua plan, so it is never the bottleneck on 2 cores."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk_plan.lua")
TIMEOUT_SECONDS = 10  # a write may queue behind others; only a real stall should count as a timeout
_RESULT = re.compile(
    r"^WRK_RESULT "
    + " ".join(rf"{name}=(\d+)" for name in ("duration_us", "requests", "p50_us", "p99_us", "socket_errors"))
    + "$",
    re.M,
)
_STATUS = re.compile(r"^WRK_STATUS (\d+) (\d+)$", re.M)


class WrkError(RuntimeError):
    """wrk is missing and could not be installed, or a run produced no result."""


def ensure_installed() -> str:
    """The wrk binary, installing the Debian package first when it is missing (as `make setup` does)."""
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0:
        raise WrkError("wrk is not installed: run `sudo apt-get install -y --no-install-recommends wrk`")
    print("wrk (the HTTP load generator) is not installed; installing the Debian package ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
    ):
        if subprocess.run(argv, env=env, check=False).returncode != 0:
            raise WrkError(f"`{' '.join(argv)}` failed: install wrk yourself and rerun")
    path = shutil.which("wrk")
    if not path:
        raise WrkError("apt-get reported success but `wrk` is not on PATH")
    return path


@dataclass(frozen=True)
class Plan:
    """What each request carries; with `bodies`, token i always goes with body i (its owner's wallet)."""

    method: str
    paths: list[str]
    tokens: list[str] = field(default_factory=list)
    bodies: list[str] | None = None
    key_prefix: str = ""

    def with_keys(self, prefix: str) -> Plan:
        """The same plan with its own Idempotency-Key prefix, so no two runs share a key."""
        return replace(self, key_prefix=prefix)

    def to_lua(self) -> str:
        def table(items: list[str]) -> str:
            return "{" + ",".join(lua_string(item) for item in items) + "}"

        bodies = table(self.bodies) if self.bodies is not None else "nil"
        return (
            f"return {{method={lua_string(self.method)}, paths={table(self.paths)}, "
            f"tokens={table(self.tokens)}, bodies={bodies}, key_prefix={lua_string(self.key_prefix)}}}\n"
        )


def lua_string(text: str) -> str:
    if not all(" " <= ch <= "~" for ch in text):
        raise ValueError(f"only printable ASCII goes into a wrk plan: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class WrkResult:
    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    socket_errors: int
    statuses: dict[int, int]  # non-2xx answers by status code

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + sum(self.statuses.values())

    @property
    def error_rate(self) -> float:
        return self.errors / max(1, self.requests + self.socket_errors)


def parse_output(text: str) -> WrkResult:
    match = _RESULT.search(text)
    if match is None:
        raise WrkError(f"wrk printed no result:\n{text[-2000:]}")
    duration_us, requests, p50_us, p99_us, socket_errors = map(int, match.groups())
    statuses: Counter[int] = Counter()
    for code, count in _STATUS.findall(text):
        statuses[int(code)] += int(count)
    return WrkResult(duration_us / 1e6, requests, p50_us / 1e3, p99_us / 1e3, socket_errors, dict(statuses))


def start(
    binary: str,
    url: str,
    plan: Plan,
    plan_path: Path,
    *,
    seconds: int,
    connections: int,
    cpus: set[int] | None,
) -> subprocess.Popen[str]:
    """Start one wrk run in the background (pinned to `cpus` when given); `collect` reads its result."""
    plan_path.write_text(plan.to_lua())
    argv = [
        binary,
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        f"{TIMEOUT_SECONDS}s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(plan_path),
    ]
    if cpus is not None:
        argv = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *argv]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def collect(process: subprocess.Popen[str], grace: float) -> WrkResult:
    output, _ = process.communicate(timeout=grace)
    if process.returncode != 0:
        raise WrkError(f"wrk exited with code {process.returncode}:\n{output[-2000:]}")
    return parse_output(output)
