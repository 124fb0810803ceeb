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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stack import monitoring
from stack.local import Backends, start_backends
from stack.processes import PYTHON, REPO, Part, free_port, http_ok, port_open, require_binary

DEPLOY = REPO / "deploy"
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
    probe_time_scale: float = 0.2
    intervals: monitoring.Intervals = monitoring.LOCAL
    rule_files: tuple[str, ...] = (ALERT_RULES,)


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


def up(options: StackOptions, progress: Any = print) -> dict[str, Any]:
    """Start every part; on any failure stop what was started and raise."""
    if (state := running(options.run_dir)) is not None:
        raise StackError(
            f"a stack is already running (started {state['started_at']}); "
            f"`tronops status` shows it, `tronops down` stops it"
        )
    if port_open(options.port):
        raise StackError(f"port {options.port} is already in use: stop what holds it or pass --port")
    prometheus_bin = require_binary("prometheus", "prometheus")
    alertmanager_bin = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
    run = options.run_dir
    started: list[Part] = []
    backends: Backends | None = None

    def start(part: Part, timeout: float = 60.0) -> Part:
        progress(f"  starting {part.name} ...")
        started.append(part.start(timeout))
        return part

    try:
        progress("starting store, redis and TRON devnet ...")
        backends = start_backends(
            run, block_interval=options.block_interval, confirmations=options.confirmations
        )
        started.extend([backends.store, backends.redis, backends.devnet])
        env_file = run / "service-env.json"
        env_file.write_text(json.dumps(backends.service_env()))

        sink_port = free_port()
        sink = start(
            Part(
                "alertsink",
                [
                    PYTHON,
                    "-m",
                    "stack.alertsink",
                    "--port",
                    str(sink_port),
                    "--journal",
                    str(run / "alerts.jsonl"),
                ],
                run / "logs" / "alertsink.log",
                lambda: http_ok(f"http://127.0.0.1:{sink_port}/healthz"),
                url=f"http://127.0.0.1:{sink_port}",
            )
        )

        pods_port = free_port()
        pods_url = f"http://127.0.0.1:{pods_port}"

        def pods_ready() -> bool:
            try:
                return len(_json(f"{pods_url}/endpoints")) == options.replicas
            except OSError:
                return False

        pods = start(
            Part(
                "pods",
                [
                    PYTHON,
                    "-m",
                    "stack.pods",
                    "--deployment",
                    str(DEPLOY / "k8s" / "deployment.yaml"),
                    "--replicas",
                    str(options.replicas),
                    "--api",
                    f"127.0.0.1:{pods_port}",
                    "--run-dir",
                    str(run / "pods"),
                    "--time-scale",
                    str(options.probe_time_scale),
                    "--env-file",
                    str(env_file),
                ],
                run / "logs" / "pods.log",
                pods_ready,
                url=pods_url,
            ),
            timeout=120,
        )

        admin_port = free_port()
        mesh = start(
            Part(
                "mesh",
                [
                    PYTHON,
                    "-m",
                    "stack.mesh",
                    "--listen",
                    f"127.0.0.1:{options.port}",
                    "--admin",
                    f"127.0.0.1:{admin_port}",
                    "--virtual-service",
                    str(DEPLOY / "istio" / "virtual-service.yaml"),
                    "--destination-rule",
                    str(DEPLOY / "istio" / "destination-rule.yaml"),
                    "--endpoints-url",
                    f"{pods_url}/endpoints",
                ],
                run / "logs" / "mesh.log",
                lambda: http_ok(f"http://127.0.0.1:{options.port}/health/ready"),
                url=f"http://127.0.0.1:{options.port}",
            )
        )

        am_port = free_port()
        am_config = _write_yaml(
            run / "alertmanager" / "alertmanager.yml",
            monitoring.alertmanager_config(f"{sink.url}/webhook", options.intervals),
        )
        alertmanager = start(
            Part(
                "alertmanager",
                [
                    alertmanager_bin,
                    f"--config.file={am_config}",
                    f"--storage.path={run / 'alertmanager' / 'data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                run / "logs" / "alertmanager.log",
                lambda: http_ok(f"http://127.0.0.1:{am_port}/-/ready"),
                url=f"http://127.0.0.1:{am_port}",
            )
        )

        prom_port = free_port()
        prom_config = _write_yaml(
            run / "prometheus" / "prometheus.yml",
            monitoring.prometheus_config(
                pods={"http_sd_configs": [{"url": f"{pods_url}/sd", "refresh_interval": "5s"}]},
                mesh=f"127.0.0.1:{admin_port}",
                devnet=backends.devnet.url.removeprefix("http://"),
                alertmanager=f"127.0.0.1:{am_port}",
                rule_files=list(options.rule_files),
                intervals=options.intervals,
                self_target=f"127.0.0.1:{prom_port}",
            ),
        )
        prometheus = start(
            Part(
                "prometheus",
                [
                    prometheus_bin,
                    f"--config.file={prom_config}",
                    f"--storage.tsdb.path={run / 'prometheus' / 'data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    "--web.enable-lifecycle",
                ],
                run / "logs" / "prometheus.log",
                lambda: http_ok(f"http://127.0.0.1:{prom_port}/-/ready"),
                url=f"http://127.0.0.1:{prom_port}",
            )
        )
    except BaseException:
        for part in reversed(started):
            part.stop()
        raise

    parts = [backends.store, backends.redis, backends.devnet, sink, pods, mesh, alertmanager, prometheus]
    state = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "run_dir": str(run),
        "service_url": mesh.url,
        "mesh_admin_url": f"http://127.0.0.1:{admin_port}",
        "usdt_contract": backends.usdt_contract,
        "parts": [
            {
                "name": p.name,
                "pid": p.pid,
                "start_time": _start_time(p.pid),
                "url": p.url,
                "log": str(p.log_path),
            }
            for p in parts
        ],
    }
    _state_file(run).write_text(json.dumps(state, indent=2))
    return state


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
