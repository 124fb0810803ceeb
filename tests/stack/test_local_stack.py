"""The local stack as one: up, status, smoke, traffic through a pod kill, refusals, and a clean down."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.tokens import mint_token
from harness.waiting import wait_for
from stack import topology
from stack.local import LOCAL_SECRETS
from stack.processes import free_port
from tests.support.stack_parts import STACK_PARTS


@pytest.fixture(scope="module")
def stack_options(tmp_path_factory: pytest.TempPathFactory) -> Iterator[topology.StackOptions]:
    run_dir: Path = tmp_path_factory.mktemp("local-stack")
    options = topology.StackOptions(run_dir=run_dir, port=free_port(), block_interval=0.5, confirmations=2)
    yield options
    if topology.running(run_dir):
        topology.down(run_dir)


@pytest.fixture
def stack(stack_options: topology.StackOptions) -> dict[str, Any]:
    """The module's stack, running: started again when a test before this one (the `down` test) stopped it,
    so the tests pass in any order."""
    state = topology.running(stack_options.run_dir) or topology.up(stack_options, progress=lambda _line: None)
    return {**state, "options": stack_options}


def _part(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in state["parts"] if p["name"] == name)


def test_status_lists_every_part_running(stack: dict[str, Any]) -> None:
    rows = topology.status(stack["options"].run_dir)
    assert {r["name"]: r["state"] for r in rows} == dict.fromkeys(STACK_PARTS, "running")


def test_prometheus_scrapes_every_part_and_loads_the_rules(stack: dict[str, Any]) -> None:
    prometheus = _part(stack, "prometheus")["url"]

    def healthy_jobs() -> set[str] | None:
        targets = httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
        up = [t for t in targets if t["health"] == "up"]
        pods = [t for t in up if t["labels"]["job"] == "tron-payment-service"]
        return {t["labels"]["job"] for t in up} if len(pods) == 3 and len(up) == len(targets) else None

    jobs = wait_for(healthy_jobs, 30, "every scrape target to be up")
    assert jobs == {"tron-payment-service", "istio-mesh", "tron-devnet", "alertmanager", "prometheus"}
    groups = httpx.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
    assert groups and all(g["name"].endswith("-local") for g in groups), "the local profile, named as such"


@pytest.mark.parametrize("where", ["--base-url", "--target"])
def test_smoke_suite_is_green_through_the_mesh(stack: dict[str, Any], where: str, tmp_path: Path) -> None:
    """The same suite found by URL, or by a `kind: local` target file naming the stack's directory."""
    target = tmp_path / "target.yaml"
    target.write_text(f"kind: local\nstack_dir: {stack['options'].run_dir}\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tronops.cli",
            "smoke",
            where,
            stack["service_url"] if where == "--base-url" else str(target),
            "--junit",
            str(tmp_path / "smoke.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={"JWT_SECRET": LOCAL_SECRETS["JWT_SECRET"], "PATH": ""},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"smoke {stack['service_url']}:" in done.stdout, done.stdout


def test_killing_a_pod_under_traffic_costs_no_retryable_request(stack: dict[str, Any]) -> None:
    pods_api = _part(stack, "pods")["url"]
    tokens = [
        mint_token(LOCAL_SECRETS["JWT_SECRET"], f"traffic-{uuid.uuid4().hex[:6]}", ["user"]) for _ in range(6)
    ]
    statuses: list[int] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=stack["service_url"], timeout=30) as client:
            for i in range(2000):  # bounded; stops earlier once the kill has been absorbed
                if stop.is_set():
                    return
                token = tokens[i % len(tokens)]
                statuses.append(
                    client.get("/api/v1/wallets", headers={"Authorization": f"Bearer {token}"}).status_code
                )

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        wait_for(lambda: len(statuses) > 50, 30, "traffic to flow")
        victim = httpx.get(f"{pods_api}/pods").json()[0]["name"]
        proof = httpx.post(f"{pods_api}/pods/{victim}/kill", json={"signal": "KILL"}).json()["killed"][0]
        assert proof["gone"], proof
        seen = len(statuses)
        wait_for(
            lambda: victim in [e["name"] for e in httpx.get(f"{pods_api}/endpoints").json()],
            60,
            "the killed pod to be restarted and ready again",
        )
        wait_for(lambda: len(statuses) > seen + 100, 30, "traffic after the restart")
    finally:
        stop.set()
        worker.join(60)
    errors = [s for s in statuses if s != 200]
    assert not errors, f"{len(errors)} of {len(statuses)} retryable requests failed: {sorted(set(errors))}"


def test_a_second_up_and_a_busy_port_are_refused(stack: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(topology.StackError, match="already running"):
        topology.up(stack["options"], progress=lambda _line: None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        options = topology.StackOptions(run_dir=tmp_path, port=busy.getsockname()[1])
        with pytest.raises(topology.StackError, match="already in use"):
            topology.up(options, progress=lambda _line: None)


def test_down_stops_everything_it_started_and_nothing_else(stack: dict[str, Any]) -> None:
    run_dir = stack["options"].run_dir
    pods = httpx.get(f"{_part(stack, 'pods')['url']}/pods").json()
    pids = [p["pid"] for p in stack["parts"]] + [p["pid"] for p in pods]
    bystander = subprocess.Popen(["sleep", "60"])  # a process of ours that `down` must leave alone
    try:
        assert len(topology.down(run_dir)) == len(topology.PARTS)
        wait_for(
            lambda: not [pid for pid in pids if _alive(pid)],
            30,
            "every process of the stack, pods included, to be gone",
        )
        assert bystander.poll() is None, "down stopped a process it did not start"
    finally:
        bystander.kill()
        bystander.wait()
    with pytest.raises(topology.StackError, match="no stack is running"):
        topology.status(run_dir)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_on_a_foreground_up_leaves_no_process(tmp_path: Path) -> None:
    env = {**os.environ, "TRONOPS_STACK_DIR": str(tmp_path)}
    up = subprocess.Popen(
        [sys.executable, "-m", "tronops.cli", "up", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert up.stdout is not None
        for line in up.stdout:  # ends with the process, so bounded
            if "Ctrl-C stops everything" in line:
                break
        state = topology.running(tmp_path)
        assert state is not None, "the stack should be recorded as running"
        pods = httpx.get(f"{_part(state, 'pods')['url']}/pods").json()
        pids = [p["pid"] for p in state["parts"]] + [p["pid"] for p in pods]
        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0
        wait_for(
            lambda: not [pid for pid in pids if _alive(pid)], 30, "every process to be gone after Ctrl-C"
        )
    finally:
        if up.poll() is None:
            up.kill()
            topology.down(tmp_path)
