"""The release load test against the whole local stack (one stack for the module, runs of ~20 s):
`tronops load run smoke` passes; a mesh fault on one route group (a 300 ms delay, 5 % errors) fails
the run and names that group, while the same run without it passes; a master and two workers give one
verdict read from the merged histograms."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import faults
from harness.clients.mesh import MeshAdmin
from harness.clients.prometheus import Prometheus
from harness.waiting import wait_for
from loadtests import server_side
from stack import topology
from stack.processes import free_port
from tests.cli.tronops_process import Run, run_tronops

SHORT = ("--duration", "20", "--scale", "2")  # 16 users, ~40 req/s: every group past min_requests
GROUP = "tron"  # the route group the faults hit: reads only, so the users' test data is untouched


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    run_dir: Path = tmp_path_factory.mktemp("load-stack")
    options = topology.StackOptions(run_dir=run_dir, port=free_port(), block_interval=0.5, confirmations=2)
    state = topology.running(run_dir) or topology.up(options, progress=lambda _line: None)
    yield state
    topology.down(run_dir)


def load(stack: dict[str, Any], out: Path, *args: str) -> Run:
    """`tronops load ...` against the module's stack (found as `tronops up` left it)."""
    return run_tronops(
        "load", *args, "--out", str(out), env={"TRONOPS_STACK_DIR": stack["run_dir"]}, timeout=240
    )


def _fail_lines(done: Run) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith("FAIL")]


def test_smoke_passes_and_a_delay_on_one_route_group_fails_it(stack: dict[str, Any], tmp_path: Path) -> None:
    """Baseline, the same run again (passes), then with a 300 ms delay on one group (fails, naming it):
    back to back, so the machine's other work drifts as little as possible between them. The baseline
    is the second of two: a run on an empty store is faster than any after it, so its baseline is one
    the same code can miss a minute later (store-bound groups' p95 1.1-1.4x the first run's here)."""
    for name in ("filling", "baseline"):
        recorded = load(stack, tmp_path / name, "baseline", "smoke", *SHORT)
        said = recorded.stdout + recorded.stderr
        assert recorded.code == 0 and "baseline recorded" in recorded.stdout, said

    done = load(stack, tmp_path / "clean", "run", "smoke", *SHORT)
    assert done.code == 0, done.stdout + done.stderr
    assert "against the local stack at" in done.stdout and "verdict: PASS" in done.stdout
    assert "payout audit: PASS" in done.stdout and done.service_modules == []
    summary = json.loads((tmp_path / "clean" / "summary.json").read_text())
    assert (summary["kind"], summary["verdict"], summary["target"]) == ("load", "pass", "local")
    steps = {step["name"]: step for step in summary["phases"][0]["steps"]}
    assert set(steps) == {"tron", "wallets", "usdt", "payouts", "staking", "payments", "money"}
    assert all(step["measured"]["requests"] >= 50 for name, step in steps.items() if name != "money")
    assert all("server_p95_ms" in step["measured"] for name, step in steps.items() if name != "money")
    gates = {(name, v["name"]) for name, step in steps.items() for v in step["verdicts"]}
    assert ("payouts", "p95 vs baseline") in gates and ("money", "payouts final exactly once") in gates
    cases = ET.parse(tmp_path / "clean" / "junit.xml").getroot().findall("testcase")
    assert len(cases) == len(gates)  # one JUnit case per gate
    assert (tmp_path / "clean" / "locust.html").is_file() and (
        tmp_path / "clean" / "locust_stats.csv"
    ).is_file()

    mesh = MeshAdmin(stack["mesh_admin_url"])
    delay = {"delay": {"fixedDelay": "300ms", "percentage": {"value": 100}}}
    with faults.mesh_fault(mesh, faults.route_group_routes(mesh, GROUP), delay):
        slow = load(stack, tmp_path / "delayed", "run", "smoke", *SHORT)
    assert slow.code == 1, slow.stdout + slow.stderr
    named = [line for line in _fail_lines(slow) if line.startswith(f"FAIL {GROUP}: p95 vs baseline ")]
    assert named and float(named[0].split()[5]) >= 300, slow.stdout  # at least the delay itself
    # The server did not see the delay: the cross-check says where the time went.
    assert f"cross-check {GROUP}: client p95" in slow.stdout and "outside the service" in slow.stdout


def test_errors_on_one_route_group_fail_the_run_naming_it(stack: dict[str, Any], tmp_path: Path) -> None:
    mesh = MeshAdmin(stack["mesh_admin_url"])
    abort = {"abort": {"httpStatus": 503, "percentage": {"value": 5}}}
    with faults.mesh_fault(mesh, faults.route_group_routes(mesh, GROUP), abort):
        done = load(stack, tmp_path, "run", "smoke", *SHORT)
    assert done.code == 1, done.stdout + done.stderr
    assert any(line.startswith(f"FAIL {GROUP}: error ratio") for line in _fail_lines(done)), done.stdout
    assert "ABORT:" in done.stdout  # beyond recovery after the grace period: no need to wait it out


def test_a_master_and_two_workers_give_one_verdict_from_merged_histograms(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    done = load(stack, tmp_path, "run", "smoke", *SHORT, "--workers", "2", "--read-only")
    # Pass or fail (three Locust processes beside the stack can overload two shared cores, and the
    # throughput floor then says so), but one verdict, from the master.
    assert done.code in (0, 1), done.stdout + done.stderr
    assert done.stdout.count("verdict: ") == 1 and "a master and 2 workers" in done.stdout
    assert json.loads((tmp_path / "summary.json").read_text())["verdict"] in ("pass", "fail")
    results = json.loads((tmp_path / "results.json").read_text())
    assert len([name for name in results["cpu_max"] if name.startswith("worker")]) == 2
    merged = sum(n for group in results["latencies"].values() for _, n in group["buckets"])
    merged += sum(sum(group["failures"].values()) for group in results["latencies"].values())
    with (tmp_path / "locust_stats.csv").open() as stats:
        locust_total = next(
            int(row["Request Count"]) for row in csv.DictReader(stats) if row["Name"] == "Aggregated"
        )
    assert merged == locust_total  # every request of both workers is in the histograms the gates read


def test_the_memory_gate_judges_each_process_and_never_passes_without_figures(stack: dict[str, Any]) -> None:
    """The soak's gate on the stack's own Prometheus: a verdict per pod of the service (its registry
    exports prometheus-client's process metrics); for a job that exports none, one inconclusive
    verdict that says so, never a silent pass."""
    prometheus = Prometheus(_part(stack, "prometheus")["url"])

    def judged() -> list[dict[str, Any]] | None:
        verdicts = server_side.memory_gates(prometheus, 30)
        return verdicts if len(verdicts) == 3 and all(v["measured"] is not None for v in verdicts) else None

    verdicts = wait_for(judged, 60, "30 s of each pod's resident memory")
    assert {v["name"] for v in verdicts} == {"memory growth"}
    assert all(v["outcome"] in ("pass", "fail") and v["threshold"] == 0.1 for v in verdicts)
    pods = {v["group"] for v in verdicts}
    assert len(pods) == 3 and all(p.startswith("pod tron-payment-service-") for p in pods), verdicts
    missing = server_side.memory_gates(prometheus, 30, job="no-such-job")
    assert [v["outcome"] for v in missing] == ["inconclusive"] and "no process_resident" in missing[0]["name"]


def _part(state: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in state["parts"] if p["name"] == name)
