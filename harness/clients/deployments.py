"""A Deployment on a Kubernetes cluster through the `kubernetes` client (apps/v1), doing what kubectl does:
`kubectl scale deployment X --replicas=N` is a PATCH of the Deployment's `scale` subresource
(autoscaling/v1 Scale, spec.replicas); `kubectl rollout restart` is a patch of the pod template's
annotation `kubectl.kubernetes.io/restartedAt` (kubectl/pkg/polymorphichelpers/objectrestarter.go,
RFC 3339 time), which the Deployment controller rolls out as its strategy says; `kubectl rollout status`
reads the status as DeploymentStatusViewer does (kubectl/pkg/polymorphichelpers/rollout_status.go):
not done until observedGeneration has caught up with metadata.generation, every desired replica is
updated, no old replica is left and every updated one is available.

Patches are sent as application/merge-patch+json: the client would otherwise pick the first JSON type
it lists (application/json-patch+json), which the API server refuses for an object body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from harness.clients.http import ControlError

MERGE_PATCH = "application/merge-patch+json"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def connect(context: str) -> client.ApiClient:
    """As chaostoolkit-kubernetes connects (its credential rules: the kubeconfig's `context`, in-pod with
    CHAOSTOOLKIT_IN_POD=true, or KUBERNETES_HOST and its token/cert variables)."""
    from chaosk8s import create_k8s_api_client  # heavy: only when Kubernetes is the target

    return create_k8s_api_client({"KUBERNETES_CONTEXT": context})


class KubernetesDeployment:
    surface = "kubernetes"

    def __init__(self, namespace: str, name: str, api: client.ApiClient) -> None:
        self.namespace = namespace
        self.name = name
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)

    def _call(self, what: str, action: Any, *args: Any, **options: Any) -> Any:
        try:
            return action(self.name, self.namespace, *args, **options)
        except ApiException as error:
            raise ControlError(
                self.surface, f"{what} deployment {self.namespace}/{self.name}: {error.reason}", error.status
            ) from error

    def pod_get(self, pod: str, port: int, path: str) -> int:
        """GET `path` on one pod through the API server's pod proxy (pods/proxy): the status the pod
        answered, as `kubectl exec POD -- curl localhost:PORT/path` would see it, without going through
        the Service or the mesh. A pod that does not answer is the proxy's 503."""
        try:
            self.core.connect_get_namespaced_pod_proxy_with_path(
                f"{pod}:{port}", self.namespace, path.lstrip("/")
            )
        except ApiException as error:
            if error.status == 404 and "pods" in str(error.body):
                raise ControlError(self.surface, f"pod {self.namespace}/{pod}: not found", 404) from error
            return int(error.status)
        return 200

    def replicas(self) -> int:
        """The desired replicas (`kubectl get deployment X -o jsonpath={.spec.replicas}`)."""
        scale = self._call("reading the scale of", self.apps.read_namespaced_deployment_scale)
        return int(scale.spec.replicas or 0)

    def scale(self, replicas: int) -> int:
        """`kubectl scale deployment X --replicas=N`; the replicas the API server stored."""
        scale = self._call(
            "scaling", self.apps.patch_namespaced_deployment_scale, {"spec": {"replicas": replicas}},
            _content_type=MERGE_PATCH,
        )  # fmt: skip
        return int(scale.spec.replicas or 0)

    def restart(self) -> str:
        """`kubectl rollout restart deployment X`; the restartedAt stamp it set."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        self._call("restarting", self.apps.patch_namespaced_deployment, patch, _content_type=MERGE_PATCH)
        return stamp

    def status(self) -> dict[str, int]:
        """generation, observedGeneration and the replica counts of `kubectl get deployment`."""
        found = self._call("reading", self.apps.read_namespaced_deployment)
        status = found.status or client.V1DeploymentStatus()
        return {
            "generation": int(found.metadata.generation or 0),
            "observed_generation": int(status.observed_generation or 0),
            "desired": int(found.spec.replicas if found.spec.replicas is not None else 1),
            "replicas": int(status.replicas or 0),
            "updated": int(status.updated_replicas or 0),
            "ready": int(status.ready_replicas or 0),
            "available": int(status.available_replicas or 0),
            "unavailable": int(status.unavailable_replicas or 0),
        }

    def rollout_status(self) -> tuple[bool, str]:
        """(done, what kubectl rollout status would print), by DeploymentStatusViewer's rules."""
        s = self.status()
        if s["generation"] > s["observed_generation"]:
            return False, "waiting for deployment spec update to be observed"
        if s["updated"] < s["desired"]:
            return False, f"{s['updated']} out of {s['desired']} new replicas have been updated"
        if s["replicas"] > s["updated"]:
            return False, f"{s['replicas'] - s['updated']} old replicas are pending termination"
        if s["available"] < s["updated"]:
            return False, f"{s['available']} of {s['updated']} updated replicas are available"
        return True, f'deployment "{self.name}" successfully rolled out'
