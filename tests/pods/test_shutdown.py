"""No pod outlives its supervisor: stopped gracefully on SIGTERM, killed by the kernel on SIGKILL."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from harness.faults import process_stopped
from harness.waiting import wait_for
from stack.local import Backends
from stack.pods.manifest import load_deployment
from tests.pods.harness import DEPLOYMENT, TIME_SCALE, Pods, gone, launch, processes_of, stop

GRACE = load_deployment(DEPLOYMENT).termination_grace * TIME_SCALE


def test_sigterm_drains_every_pod_and_leaves_no_process(env_file: Path, tmp_path: Path) -> None:
    pods = launch(tmp_path, env_file)
    assert_every_pod_drains_on_sigterm(pods)


def test_a_pod_whose_worker_hangs_on_the_store_still_drains_within_the_grace_period(
    env_file: Path, tmp_path: Path, backends: Backends
) -> None:
    # The worker's stop (its step, then the leases handed back) is bounded by WORKER_STOP_SECONDS, which
    # the manifest sets to fit its grace period; the supervisor scales both alike. A step that never
    # returns, as against a hung store, must be cut there, not killed at the end of the grace period.
    pods = launch(tmp_path, env_file)
    with process_stopped("store", backends.store.pid, ttl_s=60):
        # Readiness pings the store: no pod ready means every worker's round waits on it too.
        wait_for(lambda: not pods.ready_names(), timeout=30, what="no pod ready while the store hangs")
        assert_every_pod_drains_on_sigterm(pods)


def assert_every_pod_drains_on_sigterm(pods: Pods) -> None:
    listed = pods.pods()
    assert stop(pods, signal.SIGTERM, timeout=GRACE + 10) == 0, pods.log_tail()
    assert all(gone(pod["pid"]) for pod in listed)
    assert processes_of({pod["name"] for pod in listed}) == []
    events = [json.loads(line) for line in pods.log_path.read_text().splitlines() if line.startswith("{")]
    ended = {e["pod"]: e for e in events if e["event"] == "container_ended"}
    for pod in listed:  # each got SIGTERM and drained to a clean exit within the grace period
        assert ended[pod["name"]]["exit_code"] == 0, ended[pod["name"]]
        assert ended[pod["name"]]["message"].startswith("stopped with the supervisor"), ended[pod["name"]]


def test_sigkill_of_the_supervisor_leaves_no_process(env_file: Path, tmp_path: Path) -> None:
    pods = launch(tmp_path, env_file)
    listed = pods.pods()
    assert stop(pods, signal.SIGKILL) == -signal.SIGKILL
    names = {pod["name"] for pod in listed}
    wait_for(lambda: all(gone(pod["pid"]) for pod in listed), timeout=10, what="every pod process gone")
    assert processes_of(names) == []
