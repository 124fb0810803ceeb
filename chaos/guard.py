"""After every run: prove the target clean (no mesh fault, no devnet fault, every pod ready), waiting
a while for pods the experiment killed to come back; `sweep` removes leftovers a broken rollback left
(the mesh's and devnet's faults) so that the next experiment starts clean, and says so."""

from __future__ import annotations

from chaos import istio
from chaos.settings import Settings, pod_control
from harness import objectives
from harness.clients.devnet import Devnet
from harness.clients.mesh import MeshAdmin
from harness.faults import NO_DEVNET_FAULT
from harness.target import KubernetesTarget, LocalTarget
from harness.waiting import WaitTimeout, wait_for


def problems(run: Settings, pods_timeout_s: float = 60.0) -> list[str]:
    """What is not clean, one line each; empty when clean."""
    target = run.target
    found: list[str] = []
    if isinstance(target, LocalTarget):
        state = target.state()
        if faults := MeshAdmin(state.admin_url("mesh")).faults():
            found.append(f"mesh faults still active: {faults}")
        info = Devnet(state.url("devnet")).info()
        left = {key: info[key] for key in NO_DEVNET_FAULT if info.get(key) != NO_DEVNET_FAULT[key]}
        if left or info.get("faults"):
            found.append(f"devnet faults still active: {left} {info.get('faults') or ''}".strip())
        replicas = state.replicas
    else:
        assert isinstance(target, KubernetesTarget)
        vs = istio.read(istio.api_client(run.kube_secrets), target.namespace, target.virtual_service)
        faulted = [r.get("name") for r in vs.get("spec", {}).get("http", []) if "fault" in r]
        if faulted:
            found.append(f"VirtualService {target.virtual_service} routes with a fault: {faulted}")
        replicas = objectives.current().min_replicas
    pods = pod_control(run)
    try:
        wait_for(
            lambda: sum(bool(p.get("ready")) for p in pods.pods()) >= replicas,
            pods_timeout_s,
            f"{replicas} pods ready",
            interval=1.0,
        )
    except WaitTimeout:
        not_ready = [p["name"] for p in pods.pods() if not p.get("ready")]
        found.append(f"pods not ready after {pods_timeout_s:g} s: {not_ready} (want {replicas} ready)")
    return found


def sweep(run: Settings) -> list[str]:
    """Remove any mesh or devnet fault left on a local target; what was removed."""
    if not isinstance(run.target, LocalTarget):
        return []
    state = run.target.state()
    mesh, devnet = MeshAdmin(state.admin_url("mesh")), Devnet(state.url("devnet"))
    removed = []
    if faults := mesh.faults():
        mesh.reset()
        removed.append(f"mesh faults {faults}")
    info = devnet.info()
    if info.get("faults") or any(info.get(key) != value for key, value in NO_DEVNET_FAULT.items()):
        devnet.reset()
        removed.append(f"devnet faults {info.get('faults')}")
    return removed
