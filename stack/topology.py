"""The whole local stack, as the seed deploys it: pods behind the mesh, with store, Redis, the TRON
devnet, Prometheus and Alertmanager. `up` starts it (refusing a second one), `status` reads it,
`down` stops exactly what `up` started: each part is recorded with its pid and that process's start
time, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stack import monitoring
from stack.devnet.config import MAINNET_MEMO_FEE
from stack.local import service_env
from stack.processes import (
    DEPLOYMENT,
    REPO,
    VIRTUAL_SERVICE,
    Part,
    alertsink_command,
    backup_agent_command,
    devnet_info,
    devnet_part,
    free_port,
    http_ok,
    mesh_command,
    pods_command,
    port_open,
    redis_part,
    require_binary,
    store_part,
)

# The rules generated from alerts/slos.yaml with windows scaled down for the local stack (named as such).
ALERT_RULES = str(REPO / "alerts" / "generated" / "local" / "*.yaml")


class StackError(RuntimeError):
    """Said to the operator as it is: what is wrong and what to do."""


@dataclass(frozen=True)
class StackOptions:
    run_dir: Path
    port: int = 8085
    replicas: int = 3
    block_interval: float = 3.0
    confirmations: int = 19
    memo_fee: int = (
        MAINNET_MEMO_FEE  # the chain charges what mainnet does for the operation ids the service writes
    )
    probe_time_scale: float = 0.2
    backup_time_scale: float = 0.05  # the backup CronJob's */4 min runs every 12 s here
    intervals: monitoring.Intervals = monitoring.LOCAL
    rule_files: tuple[str, ...] = (ALERT_RULES,)
    # Variants of the production truth, for experiments that must fail against a broken one.
    deployment: Path = DEPLOYMENT
    virtual_service: Path = VIRTUAL_SERVICE
    service_env: tuple[tuple[str, str], ...] = ()  # overrides of the pods' environment
    # A chain already running (another region's devnet, as two regions share one TRON network): this
    # stack starts no devnet of its own and never stops that one.
    chain_url: str | None = None


def _state_file(run_dir: Path) -> Path:
    return run_dir / "stack.json"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a process (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def running(run_dir: Path) -> dict[str, Any] | None:
    """The recorded stack, if any of its processes still runs."""
    try:
        state = json.loads(_state_file(run_dir).read_text())
    except (OSError, ValueError):
        return None
    alive = [p for p in state["parts"] if _start_time(p["pid"]) == p["start_time"]]
    return state if alive else None


def _json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _write_yaml(path: Path, content: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


@dataclass
class Launch:
    """What a part's launcher knows: the options, and every part started before it, by name."""

    options: StackOptions
    started: dict[str, Part] = field(default_factory=dict)
    usdt_contract: str = ""

    @property
    def run(self) -> Path:
        return self.options.run_dir

    def url(self, name: str) -> str:
        if name == "devnet" and self.options.chain_url:
            return self.options.chain_url
        return self.started[name].url

    def address(self, name: str, admin: bool = False) -> str:
        """host:port of a started part (its admin listener with `admin`), as scrape targets are written."""
        part = self.started.get(name)
        url = part.admin_url if part and admin and part.admin_url else part.url if part else self.url(name)
        return url.split("://", 1)[1].split("/")[0]


def _devnet(launch: Launch) -> Part:
    options = launch.options
    return devnet_part(
        launch.run,
        block_interval=options.block_interval,
        confirmations=options.confirmations,
        extra=["--memo-fee", str(options.memo_fee)],
    )


def _alertsink(launch: Launch) -> Part:
    port = free_port()
    return Part(
        "alertsink",
        alertsink_command(port, launch.run / "alerts.jsonl"),
        launch.run / "logs" / "alertsink.log",
        lambda: http_ok(f"http://127.0.0.1:{port}/healthz"),
        url=f"http://127.0.0.1:{port}",
    )


def _pods(launch: Launch) -> Part:
    info = devnet_info(launch.url("devnet"))
    launch.usdt_contract = str(info["usdt_contract_address"])
    env_file = launch.run / "service-env.json"
    env_file.write_text(
        json.dumps(
            service_env(launch.url("store"), launch.url("redis"), launch.url("devnet"), launch.usdt_contract)
            | dict(launch.options.service_env)
            | {"KEY_ESCROW_DIR": str(key_escrow_dir(launch.run))}
        )
    )
    port, replicas = free_port(), launch.options.replicas
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return len(_json(f"{url}/endpoints")) == replicas
        except OSError:
            return False

    argv = pods_command(
        f"127.0.0.1:{port}",
        launch.run / "pods",
        env_file,
        replicas=replicas,
        time_scale=launch.options.probe_time_scale,
        deployment=launch.options.deployment,
    )
    return Part("pods", argv, launch.run / "logs" / "pods.log", ready, url=url)


def key_escrow_dir(run_dir: Path) -> Path:
    """Beside the backups, outside the store: where the pods escrow each new wallet's encrypted key."""
    return run_dir / "backups" / "keys"


def _backup_agent(launch: Launch) -> Part:
    """The backup CronJob as a process (drills/agent.py), on its schedule scaled by backup_time_scale."""
    status = launch.run / "backups" / "agent-status.json"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.unlink(missing_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = backup_agent_command(
        launch.url("store"), launch.run / "backups", status, launch.options.backup_time_scale, url[7:]
    )
    return Part(
        "backup", argv, launch.run / "logs" / "backup.log", lambda: http_ok(f"{url}/healthz"), url=url
    )


def _mesh(launch: Launch) -> Part:
    port, admin_port = launch.options.port, free_port()
    argv = mesh_command(
        f"127.0.0.1:{port}",
        f"127.0.0.1:{admin_port}",
        endpoints_url=f"{launch.url('pods')}/endpoints",
        virtual_service=launch.options.virtual_service,
    )
    return Part(
        "mesh",
        argv,
        launch.run / "logs" / "mesh.log",
        lambda: http_ok(f"http://127.0.0.1:{port}/health/ready"),
        url=f"http://127.0.0.1:{port}",
        admin_url=f"http://127.0.0.1:{admin_port}",
    )


def _alertmanager(launch: Launch) -> Part:
    binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
    port, run = free_port(), launch.run
    config = _write_yaml(
        run / "alertmanager" / "alertmanager.yml",
        monitoring.alertmanager_config(f"{launch.url('alertsink')}/webhook", launch.options.intervals),
    )
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={run / 'alertmanager' / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    ready = f"http://127.0.0.1:{port}/-/ready"
    return Part(
        "alertmanager", argv, run / "logs" / "alertmanager.log", lambda: http_ok(ready), url=ready[:-8]
    )


def _prometheus(launch: Launch) -> Part:
    binary = require_binary("prometheus", "prometheus")
    port, run = free_port(), launch.run
    config = _write_yaml(
        run / "prometheus" / "prometheus.yml",
        monitoring.prometheus_config(
            pods={"http_sd_configs": [{"url": f"{launch.url('pods')}/sd", "refresh_interval": "5s"}]},
            mesh=launch.address("mesh", admin=True),
            devnet=launch.address("devnet"),
            alertmanager=launch.address("alertmanager"),
            rule_files=list(launch.options.rule_files),
            intervals=launch.options.intervals,
            self_target=f"127.0.0.1:{port}",
        ),
    )
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={run / 'prometheus' / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]
    ready = f"http://127.0.0.1:{port}/-/ready"
    return Part("prometheus", argv, run / "logs" / "prometheus.log", lambda: http_ok(ready), url=ready[:-8])


@dataclass(frozen=True)
class PartSpec:
    """One part of the stack: how to launch it from what started before, and how long it may take."""

    name: str
    launch: Callable[[Launch], Part]
    timeout: float = 60.0


# The stack, in start order (stopped in reverse). A new part (a backup agent, a second region) is one entry.
PARTS: tuple[PartSpec, ...] = (
    PartSpec("store", lambda launch: store_part(launch.run)),
    PartSpec("redis", lambda launch: redis_part(launch.run)),
    PartSpec("backup", _backup_agent),
    PartSpec("devnet", _devnet),
    PartSpec("alertsink", _alertsink),
    PartSpec("pods", _pods, timeout=120.0),
    PartSpec("mesh", _mesh),
    PartSpec("alertmanager", _alertmanager),
    PartSpec("prometheus", _prometheus),
)
REQUIRED_BINARIES = (("prometheus", "prometheus"), ("prometheus-alertmanager", "prometheus-alertmanager"))


def up(options: StackOptions, progress: Callable[[str], object] = print) -> dict[str, Any]:
    """Start every part; on any failure stop what was started and raise."""
    if (state := running(options.run_dir)) is not None:
        raise StackError(
            f"a stack is already running (started {state['started_at']}); "
            f"`tronops status` shows it, `tronops down` stops it"
        )
    if port_open(options.port):
        raise StackError(f"port {options.port} is already in use: stop what holds it or pass --port")
    for binary, package in REQUIRED_BINARIES:  # before anything starts: a missing one changes nothing
        require_binary(binary, package)
    if options.chain_url:
        try:
            devnet_info(options.chain_url)
        except (OSError, ValueError) as error:
            raise StackError(
                f"no devnet answers at {options.chain_url} ({error}): start the region that runs the chain "
                "first, or leave out the chain URL to start one"
            ) from None
    launch = Launch(options)
    try:
        for spec in PARTS:
            if spec.name == "devnet" and options.chain_url:
                progress(f"  devnet: the shared chain at {options.chain_url}")
                continue
            progress(f"  starting {spec.name} ...")
            launch.started[spec.name] = spec.launch(launch).start(spec.timeout)
    except BaseException:
        for part in reversed(launch.started.values()):
            part.stop()
        raise

    mesh = launch.started["mesh"]
    state = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "run_dir": str(options.run_dir),
        "service_url": mesh.url,
        "mesh_admin_url": mesh.admin_url,
        "usdt_contract": launch.usdt_contract,
        "replicas": options.replicas,
        "chain_url": launch.url("devnet"),
        "parts": [
            {
                "name": p.name,
                "pid": p.pid,
                "start_time": _start_time(p.pid),
                "url": p.url,
                "log": str(p.log_path),
            }
            | ({"admin_url": p.admin_url} if p.admin_url else {})
            for p in launch.started.values()
        ],
    }
    _state_file(options.run_dir).write_text(json.dumps(state, indent=2))
    return state


def record_restart(run_dir: Path, part: Part) -> None:
    """A part restarted by hand (a DR drill's new store): recorded, so `down` stops it, `status` shows it."""
    state = json.loads(_state_file(run_dir).read_text())
    for entry in state["parts"]:
        if entry["name"] == part.name:
            entry.update(pid=part.pid, start_time=_start_time(part.pid), url=part.url)
    _state_file(run_dir).write_text(json.dumps(state, indent=2))


def status(run_dir: Path) -> list[dict[str, Any]]:
    """Each recorded part: running or not, and where."""
    state = running(run_dir)
    if state is None:
        raise StackError("no stack is running here; `tronops up` starts one")
    rows = []
    for part in state["parts"]:
        alive = _start_time(part["pid"]) == part["start_time"]
        rows.append({**part, "state": "running" if alive else "exited"})
    return rows


def down(run_dir: Path, grace: float = 20.0) -> list[str]:
    """Stop what `up` recorded, newest first; returns the names stopped."""
    try:
        state = json.loads(_state_file(run_dir).read_text())
    except (OSError, ValueError):
        raise StackError("no stack recorded here; nothing to stop") from None
    stopped = []
    for part in reversed(state["parts"]):
        pid = part["pid"]
        if _start_time(pid) != part["start_time"]:
            continue  # already gone, or the pid now belongs to someone else: never signal it
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _start_time(pid) == part["start_time"] and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if _start_time(pid) == part["start_time"]:
            os.kill(pid, signal.SIGKILL)
        stopped.append(part["name"])
    _state_file(run_dir).unlink(missing_ok=True)
    return stopped


def _reap(pid: int) -> None:
    """Collect our own exited child (when `up` and `down` run in one process) so it leaves /proc."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
