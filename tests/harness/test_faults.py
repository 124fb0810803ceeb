"""Faults undo what they did when the block ends: normally, on an exception, and on Ctrl-C
(KeyboardInterrupt); and they prove they acted. Against real parts: the mesh and the devnet as processes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import faults
from harness.clients.devnet import Devnet
from harness.clients.mesh import MeshAdmin
from tests.devnet.harness import launch as launch_devnet
from tests.devnet.harness import stop as stop_devnet
from tests.mesh.mesh_process import Mesh, launch
from tests.mesh.scripted_upstream import ScriptedUpstream

ENDINGS: dict[str, type[BaseException] | None] = {
    "normally": None,
    "on an exception": RuntimeError,
    "on Ctrl-C": KeyboardInterrupt,
}


def _run_and_end(
    fault: Any, ending: type[BaseException] | None, inside: Callable[[faults.Proof], None]
) -> None:
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
def test_mesh_aborts_answer_503_then_are_undone(
    meshed: tuple[Mesh, MeshAdmin], ending: type[BaseException] | None
) -> None:
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
def test_devnet_down_refuses_the_node_then_is_undone(
    devnet: Devnet, ending: type[BaseException] | None
) -> None:
    def node_answers() -> bool:
        return httpx.post(f"{devnet.url}/wallet/getnowblock", json={}, timeout=5).status_code == 200

    def inside(proof: faults.Proof) -> None:
        assert proof.evidence["faults"]["down"] is True
        assert not node_answers()

    _run_and_end(faults.devnet_down(devnet), ending, inside)
    assert devnet.info() | faults.NO_DEVNET_FAULT == devnet.info()
    assert node_answers()


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
def test_slow_node_delays_then_is_undone(devnet: Devnet, ending: type[BaseException] | None) -> None:
    def inside(proof: faults.Proof) -> None:
        assert proof.evidence["faults"]["latency_ms"] == 300
        elapsed = httpx.post(f"{devnet.url}/wallet/getnowblock", json={}, timeout=5).elapsed.total_seconds()
        assert elapsed >= 0.3

    _run_and_end(faults.slow_node(devnet, 0.3), ending, inside)
    assert devnet.info()["latency_ms"] == 0
