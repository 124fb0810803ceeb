"""`tronops gameday --quick` as an operator runs it, with no stack running: it starts one for the day,
runs smoke, the load baseline (30 s), the mesh abort under load (faults held 20 s, the local alert
rules: windows / 30), backup-check and the money audit, writes the day, the timeline and the report,
and stops the stack. About 100 s on a 2-core machine. And a Ctrl-C mid-experiment: the fault in
force is rolled back and the stack the day started is gone (about 70 s)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gameday import plan, timeline
from harness.clients.http import ControlError
from harness.clients.mesh import MeshAdmin
from harness.summary import validate
from harness.target import StackState
from harness.waiting import wait_for
from stack import topology
from stack.processes import REPO

TRONOPS = Path(sys.executable).with_name("tronops")
ARTEFACTS = REPO / "var" / "artefacts"  # kept by CI: the report's screenshot
QUICK_DAY_BOUND_S = 300.0


def start_day(stack_dir: Path, out: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as errors:
        return subprocess.Popen(
            [str(TRONOPS), "gameday", "--quick", "--out", str(out)],
            env={**os.environ, "TRONOPS_STACK_DIR": str(stack_dir), "TRONOPS_CHAOS_HOLD_S": "20"},
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


def stop(day: subprocess.Popen[bytes], stack_dir: Path) -> None:
    """Whatever a failed assertion left: the day's process, and the stack it started."""
    if day.poll() is None:
        day.kill()
        day.wait(30)
    if topology.running(stack_dir):
        topology.down(stack_dir)


def pids_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def test_the_quick_day_runs_end_to_end_and_leaves_a_report_people_can_read(tmp_path: Path) -> None:
    stack_dir, out, log = tmp_path / "stack", tmp_path / "day", tmp_path / "gameday.log"
    started = time.monotonic()
    day = start_day(stack_dir, out, log)
    try:
        code = day.wait(QUICK_DAY_BOUND_S + 60)
    finally:
        stop(day, stack_dir)
    took = time.monotonic() - started
    progress = log.read_text()
    assert code == 0, progress[-6000:]
    assert took <= QUICK_DAY_BOUND_S, f"the quick day took {took:.0f} s"
    assert topology.running(stack_dir) is None, "the stack the day started is stopped"
    for line in ("smoke: suite (step 1 of 5); next: load/baseline", "day over in", "exit 0"):
        assert line in progress, progress[-4000:]

    summary = load(out / "day.json")
    validate(summary)
    assert (summary["kind"], summary["name"], summary["verdict"]) == ("gameday", "quick", "pass")
    assert [phase["name"] for phase in summary["phases"]] == list(plan.PHASES)
    steps = {step["name"]: step for phase in summary["phases"] for step in phase["steps"]}
    ran = ["suite", "baseline", *plan.QUICK_EXPERIMENTS, *plan.QUICK_DRILLS, "money"]
    assert all("not_run" not in steps[name] and "error" not in steps[name] for name in ran)
    assert all(step["not_run"] == "--quick" for name, step in steps.items() if name not in ran)
    for name in ran:  # each step's own summary is there, in the shared schema
        validate(load(out / steps[name]["artefacts"]["summary"]))
    experiment = steps[plan.QUICK_EXPERIMENTS[0]]
    assert experiment["measured"]["requests"] > 100, "the load ran through the experiment"
    assert (out / experiment["artefacts"]["html"]).is_file() and (
        out / experiment["artefacts"]["journal"]
    ).is_file()
    under_load = load(out / "chaos" / plan.QUICK_EXPERIMENTS[0] / "load" / "results.json")
    assert under_load["aborted"] is None, "the load ran on through the fault"
    assert steps["money"]["measured"]["findings"] == 0 and steps["money"]["measured"]["operations"] > 0

    line = load(out / "timeline.json")
    timeline.validate(line)
    assert {p["name"] for p in line["phases"]} == set(plan.PHASES)
    whole = next(s for s in line["series"] if s["name"] == "requests_per_second" and not s["labels"])
    assert max(v for _, v in whole["points"] if v is not None) > 5, "the day's traffic is in the series"
    payouts_errors = next(
        s
        for s in line["series"]
        if s["name"] == "error_ratio" and s["labels"].get("route_group") == "payouts"
    )
    (fault,) = [f for f in line["faults"] if f["experiment"] == plan.QUICK_EXPERIMENTS[0]]
    assert fault["started_at"] < fault["ended_at"]
    assert any(v for _, v in payouts_errors["points"] if v), "the abort shows in the payouts error ratio"
    fired = [a for a in line["alerts"] if a["alertname"] == "TronPaymentMeshErrorRate"]
    assert fired and fault["started_at"] < fired[0]["fired_at"] < fault["ended_at"] < fired[0]["resolved_at"]

    from gameday.report.browser import check_in_browser

    report = out / "report.html"
    assert report.is_file()
    seen = check_in_browser(report, tmp_path / "report.png")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(seen.screenshot, ARTEFACTS / "gameday-quick-report.png")
    assert seen.script_errors == [] and seen.plots_with_data >= 1, seen


def test_ctrl_c_mid_experiment_rolls_the_fault_back_and_stops_the_stack_the_day_started(
    tmp_path: Path,
) -> None:
    stack_dir, out, log = tmp_path / "stack", tmp_path / "day", tmp_path / "gameday.log"
    day = start_day(stack_dir, out, log)
    try:
        wait_for(lambda: "fault: abort 503" in log.read_text() or day.poll() is not None, 240, "the fault")
        assert day.poll() is None, log.read_text()[-4000:]
        state = StackState.read(stack_dir)
        pids = [part.pid for part in state.parts]
        mesh = MeshAdmin(state.admin_url("mesh"))
        assert mesh.faults(), "the abort is in force when Ctrl-C comes"
        seen: list[dict[str, Any]] = []

        def watch() -> None:  # what the mesh says until it is stopped
            for _ in range(10_000):
                try:
                    seen.append(mesh.faults())
                except ControlError:
                    return
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        day.send_signal(signal.SIGINT)
        code = day.wait(180)
        watcher.join(30)
    finally:
        stop(day, stack_dir)
    progress = log.read_text()
    assert code == 2, progress[-4000:]
    assert seen and seen[-1] == {}, f"the mesh's last word before it stopped: {seen[-3:]}"
    assert pids_alive(pids) == [], "every process of the stack the day started is gone"
    assert topology.running(stack_dir) is None

    summary = load(out / "day.json")
    steps = {step["name"]: step for phase in summary["phases"] for step in phase["steps"]}
    assert steps[plan.QUICK_EXPERIMENTS[0]]["error"] == plan.INTERRUPTED
    for name in (*plan.QUICK_DRILLS, "money"):
        assert steps[name]["not_run"] == plan.INTERRUPTED
    journal = load(out / "chaos" / plan.QUICK_EXPERIMENTS[0] / "journal.json")
    assert journal["status"] == "interrupted"
    assert journal["rollbacks"] and all(r["status"] == "succeeded" for r in journal["rollbacks"])
    assert "interrupted: the rest of the day is not run" in progress
