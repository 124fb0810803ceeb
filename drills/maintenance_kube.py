"""The `maintenance` drill's procedures on a kubernetes target, as the Kubernetes API calls kubectl makes
(harness/clients/deployments.py): the seed's `kubectl scale deployment X --replicas=0` is a PATCH of
the Deployment's scale subresource, its `kubectl wait --for=delete pod -l app=X` a wait until no pod
matches the target's selector, its scale back and `kubectl wait --for=condition=ready` a PATCH of the
scale and a wait for status.readyReplicas; its health check (`kubectl exec ... curl localhost/health`)
is the service's /health at the target's base_url, through the contract (the harness execs into no pod).
Ours is `kubectl rollout restart` (the pod template's restartedAt annotation), which the cluster rolls
out under the Deployment's strategy (deploy/k8s/deployment.yaml: maxSurge 1, maxUnavailable 0, preStop
drain), followed to the end as `kubectl rollout status` follows it."""

from __future__ import annotations

import time

import httpx
from kubernetes import client
from kubernetes.config.config_exception import ConfigException
from urllib3.exceptions import HTTPError

from drills.context import DrillContext
from drills.maintenance_drill import READY_TIMEOUT_S, Workload
from drills.timeline import DrillCannotRun, Timeline
from harness.clients.deployments import KubernetesDeployment, connect
from harness.clients.http import ControlError
from harness.clients.kubernetes import KubernetesPods
from harness.target import KubernetesTarget
from harness.waiting import wait_for


def workload(ctx: DrillContext, target: KubernetesTarget) -> Workload:
    name = ctx.kube_needs(
        target, "deployment", "the maintenance drill (it scales and restarts the Deployment)"
    )
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
    pods = KubernetesPods(target.namespace, target.selector, client.CoreV1Api(api))
    return Workload(
        target.base_url,
        replicas,
        f"the seed's kubectl becomes Kubernetes API calls on deployment {target.namespace}/{name}",
        lambda timeline, count: _seed_procedure(timeline, deployment, pods, target.base_url, count),
        lambda timeline, count: _rollout_restart(timeline, deployment, count),
    )


def _seed_procedure(
    timeline: Timeline, deployment: KubernetesDeployment, pods: KubernetesPods, base_url: str, replicas: int
) -> float:
    """The seed's steps 1-8 as Kubernetes API calls; returns when serving stopped."""
    with timeline.step("seed 1. pre-maintenance checks (kubectl get pods -> GET pods)") as step:
        found = pods.pods()
        step.notes.append(f"{len(found)} pods, {sum(p['ready'] for p in found)} ready")
    with timeline.step(
        "seed 2-3. scale to 0 and wait for delete (kubectl scale -> PATCH deployments/scale)"
    ) as step:
        down_at = time.time()
        deployment.scale(0)
        wait_for(lambda: not pods.pods(), READY_TIMEOUT_S, "every pod deleted", interval=0.25)
        step.notes.append(f"spec.replicas 0; every pod gone after {time.time() - down_at:.1f} s")
    with timeline.step("seed 4. maintenance tasks") as step:
        step.notes.append("the seed's script has none ('# Add specific maintenance tasks here')")
    with timeline.step(
        f"seed 5-6. scale to {replicas} and wait for ready (kubectl wait -> status.readyReplicas)"
    ) as step:
        deployment.scale(replicas)
        wait_for(lambda: deployment.status()["ready"] >= replicas, READY_TIMEOUT_S, f"{replicas} ready", 0.25)
        step.notes.append(f"{replicas} pods ready after {time.time() - down_at:.1f} s")
    with timeline.step("seed 8. health check (kubectl exec curl localhost/health -> GET /health)") as step:
        answer = httpx.get(f"{base_url}/health", timeout=10)
        step.notes.append(f"{base_url}/health: {answer.status_code}")
        step.check("health after the seed's procedure", float(answer.status_code == 200), "==", 1.0)
    return down_at


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
