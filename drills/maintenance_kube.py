"""The `maintenance` drill's procedures on a kubernetes target, as the Kubernetes API calls kubectl makes
(harness/clients/deployments.py): the seed's `kubectl scale deployment X --replicas=0` is a PATCH of
the Deployment's scale subresource, its `kubectl wait --for=delete pod -l app=X` a wait until no pod
matches the target's selector, its scale back and `kubectl wait --for=condition=ready` a PATCH of the
scale and a wait for status.readyReplicas; its health check (`kubectl exec ... curl localhost:8085/health`)
is a GET of the pod's /health through the API server's pod proxy (a pod, not the Service or the mesh,
as exec reaches it; exec's streaming protocol is not needed for one GET).
Ours is `kubectl rollout restart` (the pod template's restartedAt annotation), which the cluster rolls
out under the Deployment's strategy (deploy/k8s/deployment.yaml: maxSurge 1, maxUnavailable 0, preStop
drain), followed to the end as `kubectl rollout status` follows it."""

from __future__ import annotations

import time

from kubernetes import client
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from drills.context import DrillContext
from drills.maintenance_drill import READY_TIMEOUT_S, SeedSteps, Workload
from drills.timeline import DrillCannotRun, Timeline
from harness.clients.deployments import KubernetesDeployment, connect
from harness.clients.http import ControlError
from harness.clients.kubernetes import KubernetesPods
from harness.target import KubernetesTarget
from harness.waiting import wait_for

SERVICE_PORT = 8085  # the container's port (deploy/k8s/deployment.yaml), as the seed's curl uses it


def open_deployment(
    ctx: DrillContext, target: KubernetesTarget, what_for: str
) -> tuple[KubernetesDeployment, KubernetesPods, int]:
    """The target's Deployment, its pods (the target's selector) and its desired replicas as found;
    DrillCannotRun (exit 2) when the target names none or the API server cannot be reached."""
    name = ctx.kube_needs(target, "deployment", what_for)
    try:
        api = connect(target.context)
        deployment = KubernetesDeployment(target.namespace, name, api)
        replicas = deployment.replicas()
    except ControlError as error:
        raise DrillCannotRun(str(error)) from error
    except (ConfigException, HTTPError) as error:  # no such kube context, or no API server there
        raise DrillCannotRun(
            f"cannot reach the Kubernetes API for context {target.context!r}: {error}"
        ) from error
    return deployment, KubernetesPods(target.namespace, target.selector, client.CoreV1Api(api)), replicas


def workload(ctx: DrillContext, target: KubernetesTarget) -> Workload:
    deployment, pods, replicas = open_deployment(
        ctx, target, "the maintenance drill (it scales and restarts the Deployment)"
    )
    return Workload(
        target.base_url,
        replicas,
        f"the seed's kubectl becomes Kubernetes API calls on deployment {target.namespace}/{deployment.name}",
        _seed_steps(deployment, pods, target.base_url),
        lambda timeline, count: _rollout_restart(timeline, deployment, count),
        lambda count: put_back(deployment, count),
    )


def put_back(deployment: KubernetesDeployment, replicas: int) -> str | None:
    """The Deployment's replicas as found (the cluster brings the pods back; nothing to wait for here)."""
    found = deployment.replicas()
    if found == replicas:
        return None
    deployment.scale(replicas)
    return f"deployment {deployment.namespace}/{deployment.name} scaled from {found} back to {replicas}"


def scale_to_zero(deployment: KubernetesDeployment, pods: KubernetesPods) -> str:
    """`kubectl scale --replicas=0`, then `kubectl wait --for=delete pod -l ...`: what it took."""
    started = time.time()
    deployment.scale(0)
    wait_for(lambda: not pods.pods(), READY_TIMEOUT_S, "every pod deleted", interval=0.25)
    return f"spec.replicas 0; every pod gone after {time.time() - started:.1f} s"


def scale_back(deployment: KubernetesDeployment, replicas: int) -> None:
    """`kubectl scale --replicas=N`, then wait until status.readyReplicas reaches N."""
    deployment.scale(replicas)
    wait_for(lambda: deployment.status()["ready"] >= replicas, READY_TIMEOUT_S, "ready pods", 0.25)


def _seed_steps(deployment: KubernetesDeployment, pods: KubernetesPods, base_url: str) -> SeedSteps:
    def survey() -> str:
        found = pods.pods()
        return f"{len(found)} pods, {sum(p['ready'] for p in found)} ready"

    def health() -> tuple[str, int]:
        pod = next(p["name"] for p in pods.pods() if p["ready"])
        return f"pod {pod} /health", deployment.pod_get(pod, SERVICE_PORT, "/health")

    how = {"get": "GET pods", "scale": "PATCH deployments/scale", "wait-ready": "status.readyReplicas",
           "health": "the pod's /health through the API server's pod proxy"}  # fmt: skip
    return SeedSteps(
        how, survey, lambda: scale_to_zero(deployment, pods), lambda n: scale_back(deployment, n), health
    )


def _rollout_restart(timeline: Timeline, deployment: KubernetesDeployment, replicas: int) -> None:
    """`kubectl rollout restart`, then `kubectl rollout status` until it reports the rollout done."""
    with timeline.step(
        "rolling: kubectl rollout restart (PATCH the template's restartedAt), then rollout status"
    ) as step:
        stamp = deployment.restart()
        said: list[str] = []

        def rolled_out() -> bool:
            done, message = deployment.rollout_status()
            if not said or said[-1] != message:
                said.append(message)
            return done

        # each of the replicas is surged, made ready and drained in turn
        wait_for(rolled_out, READY_TIMEOUT_S * replicas, "the rollout", interval=0.25)
        step.notes.append(f"restartedAt {stamp}; rollout status: {' -> '.join(said)}")
        status = deployment.status()
        step.check("updated replicas after the rollout", status["updated"], ">=", replicas)
