"""The pod supervisor as a real child process (`python -m stack.pods`), and how tests look at it."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stack.pods.manifest import load_deployment
from stack.processes import REPO, pods_command
from tests.support.ready_line import launch_with_ready_line

# The production manifest once it exists; until then a stand-in of the same shape.
REAL_DEPLOYMENT = REPO / "deploy" / "k8s" / "deployment.yaml"
DEPLOYMENT = (
    REAL_DEPLOYMENT if REAL_DEPLOYMENT.exists() else Path(__file__).parent / "fixtures" / "deployment.yaml"
)
# As fast as the manifest allows: 0.1, unless that leaves less than 6 s for a pod to start (the real
# start of the service does not scale, and a loaded 2-core machine takes ~3 s), then slower.
TIME_SCALE = max(0.1, 6.0 / load_deployment(DEPLOYMENT).startup_allowance())
READY_TIMEOUT = 60.0


@dataclass
class Pods:
    """One supervisor process and an HTTP client for its API."""

    process: subprocess.Popen[str]
    api: str
    log_path: Path
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.api, timeout=30.0)

    def get(self, path: str) -> Any:
        response = self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def pods(self) -> list[dict[str, Any]]:
        return list(self.get("/pods"))

    def pod(self, name: str) -> dict[str, Any]:
        return dict(self.get(f"/pods/{name}"))

    def ready_names(self) -> set[str]:
        return {endpoint["name"] for endpoint in self.get("/endpoints")}

    def kill(self, path: str, body: Any = None) -> list[dict[str, Any]]:
        response = self.http.post(path, json=body)
        assert response.status_code == 200, response.text
        return list(response.json()["killed"])

    def all_ready(self) -> bool:
        return len(self.ready_names()) == len(self.pods())

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def launch(run_dir: Path, env_file: Path, replicas: int = 3) -> Pods:
    """Start the supervisor; returns once it printed its ready line (every pod ready)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "supervisor.log"
    argv = pods_command(
        "127.0.0.1:0",
        run_dir,
        env_file,
        replicas=replicas,
        time_scale=TIME_SCALE,
        deployment=DEPLOYMENT,
        ready_timeout=READY_TIMEOUT,
    )
    process, ready = launch_with_ready_line(argv, "pods_ready", REPO, log_path, timeout=READY_TIMEOUT + 10)
    assert len(ready["pods"]) == replicas, ready
    return Pods(process, ready["api"], log_path)


def stop(pods: Pods, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
    pods.http.close()
    if pods.process.poll() is None:
        pods.process.send_signal(signum)
    try:
        return pods.process.wait(timeout)
    except subprocess.TimeoutExpired:
        pods.process.kill()
        raise


def gone(pid: int) -> bool:
    """No such process, or only its zombie entry left (dead, waiting for init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def processes_of(pod_names: set[str]) -> list[int]:
    """Live processes anywhere on the machine whose environment carries one of these POD_NAMEs."""
    wanted = {f"POD_NAME={name}".encode() for name in pod_names}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue  # ended meanwhile, or not ours to read
        if environ & wanted and not gone(int(entry.name)):
            found.append(int(entry.name))
    return found
