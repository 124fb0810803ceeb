"""Real parts as local processes on loopback: the store, Redis, the TRON devnet, service replicas.

Each part is a child process on a free port, waited for by a readiness check with a deadline (never
a fixed sleep), and stopped with SIGTERM then SIGKILL. Logs go to files under the run directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stack import parent_death

PYTHON = sys.executable
REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
VIRTUAL_SERVICE = DEPLOY / "istio" / "virtual-service.yaml"
DESTINATION_RULE = DEPLOY / "istio" / "destination-rule.yaml"
DEPLOYMENT = DEPLOY / "k8s" / "deployment.yaml"


class StartError(RuntimeError):
    """A part did not come up; the message says which, why, and where its log is."""


# Our listeners' ports come from below the kernel's ephemeral range (ip_local_port_range, 32768-60999
# by default). A port bind(0) hands out is in that range, so it stays free only until an outgoing
# connection takes it as its local port: the stack picks every port first and starts its parts over
# seconds, and the mesh once found its port taken ("address already in use"; CI on 29adfe8).
LISTEN_PORTS_LOW = 15_000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()  # never twice in one process, even once its listener is gone


def ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A loopback port free now that no outgoing connection will take before our part listens on it."""
    candidates = range(LISTEN_PORTS_LOW, max(ephemeral_low(), LISTEN_PORTS_LOW + 1_000))
    for _ in range(1_000):
        port = random.choice(candidates)
        if port not in _handed_out and port_free(port):
            _handed_out.add(port)
            return port
    raise StartError(f"no free port in {candidates.start}-{candidates.stop - 1} after 1,000 tries")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on the port now; with SO_REUSEADDR, as servers bind, so the
    TIME_WAIT connections of an earlier listener there do not count."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):
        return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StartError(
            f"`{name}` is not installed: run `make setup` "
            f"(or apt-get install --no-install-recommends {package})"
        )
    return path


@dataclass
class Part:
    """One running child process and how to tell it is ready."""

    name: str
    argv: list[str]
    log_path: Path
    ready: Callable[[], bool]
    env: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    admin_url: str = ""  # a control listener beside `url` (the mesh's admin API)
    process: subprocess.Popen[bytes] | None = None
    # SIGKILLed by the kernel when its parent ends (see stack.parent_death): for supervisors that must
    # leave no orphans even when they are killed themselves.
    die_with_parent: bool = False

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start the process without waiting for it to be ready; again after it ended, to restart it."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                parent_death.wrap(self.argv) if self.die_with_parent else self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=REPO,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop the parts in order
            )
        return self.process

    def start(self, timeout: float = 30.0) -> Part:
        process = self.spawn()
        deadline = time.monotonic() + timeout
        while not self.ready():
            if process.poll() is not None:
                raise StartError(
                    f"{self.name} exited with code {process.returncode} while starting; "
                    f"see {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise StartError(
                    f"{self.name} was not ready after {timeout:.0f} s; see {self.log_path}:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crashed pod or `kill -9`."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait(10)

    def signal(self, signum: int) -> None:
        """Signal the process's whole group (it leads its own session), if it still runs."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):  # it ended between the check and the signal
                os.killpg(self.pid, signum)

    def stop(self, grace: float = 10.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def store_part(run_dir: Path, port: int | None = None) -> Part:
    """nx-27017: a MongoDB wire-protocol server on SQLite, so pymongo runs unchanged (stack/store_server.py
    says how it is served)."""
    port = port or free_port()
    data = run_dir / "store"
    data.mkdir(parents=True, exist_ok=True)
    return Part(
        "store",
        [
            PYTHON,
            "-m",
            "stack.store_server",
            "--data-dir",  # one SQLite file per database: databases are isolated as on MongoDB
            str(data / "databases"),
            "--port",
            str(port),
        ],
        run_dir / "logs" / "store.log",
        lambda: port_open(port),
        url=f"mongodb://127.0.0.1:{port}",
    )


def redis_part(run_dir: Path, port: int | None = None) -> Part:
    port = port or free_port()
    data = run_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    binary = require_binary("redis-server", "redis-server")

    def ready() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    return Part(
        "redis",
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--protected-mode",
            "no",
        ],
        run_dir / "logs" / "redis.log",
        ready,
        url=f"redis://127.0.0.1:{port}/0",
    )


# ---- each process's launch command, written once (the stack, the benchmarks and the tests use these) ----


def mesh_command(
    listen: str,
    admin: str,
    *,
    virtual_service: Path = VIRTUAL_SERVICE,
    destination_rule: Path = DESTINATION_RULE,
    endpoints_url: str | None = None,
    endpoints: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """The mesh in front of pods found at `endpoints_url` (the supervisor's) or fixed (name, url) ones."""
    argv = [PYTHON, "-m", "stack.mesh", "--listen", listen, "--admin", admin]
    argv += ["--virtual-service", str(virtual_service), "--destination-rule", str(destination_rule)]
    if endpoints_url is not None:
        argv += ["--endpoints-url", endpoints_url]
    for name, url in endpoints:
        argv += ["--endpoint", f"{name}={url}"]
    return argv


def pods_command(
    api: str,
    run_dir: Path,
    env_file: Path,
    *,
    replicas: int,
    time_scale: float,
    deployment: Path = DEPLOYMENT,
    ready_timeout: float | None = None,
) -> list[str]:
    """The pod supervisor running `replicas` of the Deployment, its API on `api`."""
    argv = [PYTHON, "-m", "stack.pods", "--deployment", str(deployment), "--replicas", str(replicas)]
    argv += ["--api", api, "--run-dir", str(run_dir), "--time-scale", str(time_scale)]
    argv += ["--env-file", str(env_file)]
    return argv + (["--ready-timeout", str(ready_timeout)] if ready_timeout is not None else [])


def devnet_command(host: str, port: int, *extra: str) -> list[str]:
    return [PYTHON, "-m", "stack.devnet", "--host", host, "--port", str(port), *extra]


def backup_agent_command(
    store_url: str, to: Path, status: Path, time_scale: float, listen: str | None = None
) -> list[str]:
    """The backup CronJob's local stand-in (drills/agent.py), for the service's database."""
    where = ["--mongodb-uri", store_url, "--to", str(to), "--status", str(status)]
    served = ["--listen", listen] if listen else []
    return [PYTHON, "-m", "drills.agent", *where, "--time-scale", str(time_scale), *served]


def alertsink_command(port: int, journal: Path) -> list[str]:
    return [PYTHON, "-m", "stack.alertsink", "--port", str(port), "--journal", str(journal)]


def devnet_part(
    run_dir: Path,
    port: int | None = None,
    block_interval: float = 3.0,
    confirmations: int = 19,
    extra: list[str] | None = None,
) -> Part:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    return Part(
        "devnet",
        devnet_command(
            "127.0.0.1",
            port,
            *("--block-interval", str(block_interval), "--confirmations", str(confirmations)),
            *(extra or []),
        ),
        run_dir / "logs" / "devnet.log",
        lambda: http_ok(f"{url}/control/info"),
        url=url,
    )


def devnet_info(devnet_url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{devnet_url}/control/info", timeout=5) as response:
        return dict(json.loads(response.read()))


def service_part(run_dir: Path, name: str, env: Mapping[str, str], port: int | None = None) -> Part:
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    return Part(
        name,
        [PYTHON, "-m", "service"],
        run_dir / "logs" / f"{name}.log",
        lambda: http_ok(f"{url}/health/ready"),
        env={**env, "PORT": str(port), "HOST": "127.0.0.1", "POD_NAME": name},
        url=url,
    )
