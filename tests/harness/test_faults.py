"""Faults undo what they did when the block ends: normally, on an exception, and on Ctrl-C
(KeyboardInterrupt); and they prove they acted. Against real parts: the mesh and the devnet as processes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import faults
from harness.clients.devnet import Devnet
from harness.clients.http import ControlError
from harness.clients.mesh import MeshAdmin
from harness.clients.pods import Pods
from harness.waiting import wait_for
from stack.local import Backends
from tests.devnet.harness import launch as launch_devnet
from tests.devnet.harness import stop as stop_devnet
from tests.mesh.mesh_process import Mesh, launch
from tests.mesh.scripted_upstream import ScriptedUpstream
from tests.pods.harness import launch as launch_pods
from tests.pods.harness import stop as stop_pods

Ending = type[BaseException] | None
ENDINGS: dict[str, Ending] = {
    "normally": None,
    "on an exception": RuntimeError,
    "on Ctrl-C": KeyboardInterrupt,
}


def _run_and_end(fault: Any, ending: Ending, inside: Callable[[faults.Proof], None]) -> None:
    """Enter `fault`, run `inside` with its proof, then end the block as `ending` says."""
    with pytest.raises(ending) if ending else contextlib.nullcontext(), fault as proof:
        inside(proof)
        if ending:
            raise ending("the run failed inside the fault")


@pytest.fixture
def meshed(tmp_path: Path) -> Iterator[tuple[Mesh, MeshAdmin]]:
    upstream = ScriptedUpstream("pod-0")
    mesh = launch(tmp_path, endpoints=[("pod-0", upstream.url)])
    try:
        yield mesh, MeshAdmin(mesh.admin_url)
    finally:
        mesh.stop()
        upstream.stop()


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_mesh_aborts_answer_503_then_are_undone(meshed: tuple[Mesh, MeshAdmin], ending: Ending) -> None:
    mesh, admin = meshed
    route = "default-retryable"  # the route GET / takes in deploy/istio/virtual-service.yaml

    def inside(proof: faults.Proof) -> None:
        assert proof.evidence["active_faults"] == {
            route: {"abort": {"httpStatus": 503, "percentage": {"value": 100}}}
        }
        assert mesh.http.get("/").status_code == 503

    _run_and_end(faults.mesh_aborts(admin, [route]), ending, inside)
    assert admin.faults() == {}
    assert mesh.http.get("/").status_code == 200


def test_mesh_aborts_refuses_to_claim_nothing(meshed: tuple[Mesh, MeshAdmin]) -> None:
    _, admin = meshed
    with pytest.raises(faults.FaultNotApplied, match="no route"), faults.mesh_aborts(admin, []):
        pytest.fail("the block must not run")
    assert admin.faults() == {}


@pytest.fixture
def devnet() -> Iterator[Devnet]:
    process, ready = launch_devnet()
    client = Devnet(ready["url"])
    try:
        yield client
    finally:
        client.close()
        stop_devnet(process)


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_devnet_down_refuses_the_node_then_is_undone(devnet: Devnet, ending: Ending) -> None:
    def node_answers() -> bool:
        return httpx.post(f"{devnet.url}/wallet/getnowblock", json={}, timeout=5).status_code == 200

    def inside(proof: faults.Proof) -> None:
        assert proof.evidence["faults"]["down"] is True
        assert not node_answers()

    _run_and_end(faults.devnet_down(devnet), ending, inside)
    assert devnet.info() | faults.NO_DEVNET_FAULT == devnet.info()
    assert node_answers()


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_slow_node_delays_then_is_undone(devnet: Devnet, ending: Ending) -> None:
    def inside(proof: faults.Proof) -> None:
        assert proof.evidence["faults"]["latency_ms"] == 300
        elapsed = httpx.post(f"{devnet.url}/wallet/getnowblock", json={}, timeout=5).elapsed.total_seconds()
        assert elapsed >= 0.3

    _run_and_end(faults.slow_node(devnet, 0.3), ending, inside)
    assert devnet.info()["latency_ms"] == 0


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_a_named_node_fault_is_listed_then_removed(devnet: Devnet, ending: Ending) -> None:
    try:
        devnet.clear_fault("internal_error")
    except ControlError as error:
        if error.status not in (404, 501):  # no such route; no DELETE at all
            raise
        pytest.skip("this devnet has no `/control/faults` yet (the devnet-faults work adds it)")

    def inside(proof: faults.Proof) -> None:
        assert [f["fault"] for f in proof.evidence["faults"]] == ["internal_error"]
        assert [f["fault"] for f in devnet.info()["faults"]] == ["internal_error"]

    _run_and_end(faults.node_fault(devnet, "internal_error", ttl_s=60, share=1.0), ending, inside)
    assert devnet.info()["faults"] == []


REPLICAS = 2


@pytest.fixture(scope="module")
def pods(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pods]:
    """The real pod supervisor running the service on the real backends."""
    run_dir = tmp_path_factory.mktemp("harness-pods")
    env_file = run_dir / "service-env.json"
    env_file.write_text(json.dumps(backends.service_env()))
    supervisor = launch_pods(run_dir / "pods", env_file, replicas=REPLICAS)
    client = Pods(supervisor.api)
    try:
        yield client
    finally:
        client.close()
        stop_pods(supervisor)


def _all_ready(pods: Pods) -> None:
    wait_for(lambda: len(pods.ready()) == REPLICAS, 60, "every pod ready")


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_pods_stopped_freezes_every_pod_then_is_undone(pods: Pods, ending: Ending) -> None:
    _all_ready(pods)
    urls = [pod["url"] for pod in pods.pods()]

    def inside(proof: faults.Proof) -> None:
        assert len(proof.evidence["stopped"]) >= REPLICAS
        assert set(proof.evidence["stopped"].values()) <= {"T", "gone"}
        for url in urls:
            with pytest.raises(httpx.TimeoutException):
                httpx.get(f"{url}/health/live", timeout=0.5)

    _run_and_end(faults.pods_stopped(pods, REPLICAS), ending, inside)
    assert all((faults.process_state(pid) or ("gone",))[0] != "T" for pid in _pids(pods))
    _all_ready(pods)


def test_a_pod_kill_proves_the_process_is_gone(pods: Pods) -> None:
    _all_ready(pods)
    [proof] = pods.kill(count=1)
    assert proof["gone"] is True and faults.process_state(proof["pid"]) is None
    _all_ready(pods)


def _pids(pods: Pods) -> list[int]:
    return [pod["pid"] for pod in pods.pods() if pod.get("pid")]
