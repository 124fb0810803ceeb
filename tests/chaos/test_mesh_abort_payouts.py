"""Experiment 1 on a local stack of its own: it holds (replays counted, money exactly once, the mesh
error alert within its bounds), also right after a run whose alert still fires; a runner stopped with
SIGTERM or Ctrl-C mid-method still rolls back; a runner killed with SIGKILL leaves a fault that its
time to live removes. About 3 minutes."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.observe import still_active
from harness.clients.alertsink import AlertSink
from harness.clients.prometheus import Prometheus
from harness.waiting import wait_for
from tests.chaos.live import LiveStack, chaos_run, live_stack, run_to_end

EXPERIMENT = "01-mesh-abort-payouts"
ALERT = "TronPaymentMeshErrorRate"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    yield from live_stack(tmp_path_factory.mktemp("chaos-mesh-abort"))


def test_the_experiment_holds_and_prints_its_detection_times(stack: LiveStack, tmp_path: Path) -> None:
    runner = chaos_run(stack, EXPERIMENT, out=tmp_path)
    stdout, stderr = runner.communicate(timeout=300)
    assert runner.returncode == 0, stdout + stderr[-4000:]
    assert f"{EXPERIMENT}: held" in stdout
    assert "TronPaymentMeshErrorRate fired" in stdout and "local rules" in stdout
    assert "phase: method, fault: abort 503 on 50 % of payouts-retryable, payouts, time left" in stderr
    document = json.loads((tmp_path / EXPERIMENT / "summary.json").read_text())
    measured = next(s for p in document["phases"] for s in p["steps"] if s["name"] == "measured")["measured"]
    assert measured["replays"] > 0 and measured["answers_lost"] > 0
    assert stack.mesh.faults() == {}


def _started_fault(stack: LiveStack, runner_pid: int) -> None:
    wait_for(lambda: stack.mesh.faults(), 60, f"runner {runner_pid} to put its fault in force", interval=0.2)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_runner_stopped_mid_method_still_plays_the_rollbacks(
    stack: LiveStack, tmp_path: Path, stop: signal.Signals
) -> None:
    runner = chaos_run(stack, EXPERIMENT, out=tmp_path)
    try:
        _started_fault(stack, runner.pid)
        runner.send_signal(stop)
        stdout, stderr = runner.communicate(timeout=120)
    finally:
        runner.kill()
    assert runner.returncode == 2, stdout + stderr[-3000:]
    assert "status interrupted" in stdout
    assert stack.mesh.faults() == {}, "the rollback removed the abort"
    journal = json.loads((tmp_path / EXPERIMENT / "journal.json").read_text())
    assert [run["activity"]["name"] for run in journal["rollbacks"]] == ["remove-every-fault", "stop-traffic"]


def test_a_fault_outlives_a_sigkilled_runner_only_until_its_time_to_live(
    stack: LiveStack, tmp_path: Path
) -> None:
    runner = chaos_run(stack, EXPERIMENT, out=tmp_path, TRONOPS_CHAOS_FAULT_TTL_S="6")
    try:
        _started_fault(stack, runner.pid)
        runner.kill()  # SIGKILL: no rollback can run
        runner.wait(10)
        assert stack.mesh.faults(), "nothing undid the fault: only its time to live can"
        wait_for(lambda: not stack.mesh.faults(), 20, "the fault's time to live to remove it", interval=0.5)
    finally:
        runner.kill()
        stack.mesh.reset()


def test_a_run_started_while_the_last_runs_alert_still_fires_times_its_own_alert(
    stack: LiveStack, tmp_path: Path
) -> None:
    # The alert of a run stopped mid-fault stays active for a while (its window must empty; then
    # Alertmanager sends the resolution). A run started meanwhile must not count it as its own
    # detection, nor miss its own delivery (Alertmanager does not repeat a firing it already sent).
    prometheus, sink = Prometheus(stack.state.url("prometheus")), AlertSink(stack.state.url("alertsink"))
    first = chaos_run(stack, EXPERIMENT, out=tmp_path / "first")
    try:
        wait_for(lambda: (ALERT, "firing") in prometheus.alert_states(), 90, f"{ALERT} to fire", interval=0.5)
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
    finally:
        first.kill()
    assert ALERT in still_active(prometheus, sink, [ALERT]), "the second run must start with the alert active"
    second = run_to_end(stack, EXPERIMENT, tmp_path / "second")
    assert second.code == 0, second
    assert f"{EXPERIMENT}: held" in second.stdout
    assert f"{ALERT} reached the receiver" in second.stderr
