"""Pods on a Kubernetes cluster through the `kubernetes` client (the one chaostoolkit-kubernetes uses):
list the service's pods by label selector, delete them with a grace period, as `chaosk8s` does."""

from __future__ import annotations

from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from harness.clients.http import ControlError


class KubernetesPods:
    surface = "kubernetes"

    def __init__(self, namespace: str, label_selector: str, api: client.CoreV1Api) -> None:
        self.namespace = namespace
        self.label_selector = label_selector
        self.api = api

    @classmethod
    def from_kubeconfig(cls, context: str, namespace: str, label_selector: str) -> KubernetesPods:
        """As kubectl would connect with `--context context`."""
        return cls(
            namespace, label_selector, client.CoreV1Api(config.new_client_from_config(context=context))
        )

    @classmethod
    def at(cls, host: str, namespace: str, label_selector: str) -> KubernetesPods:
        """An API server at `host` without credentials (a test double of it, or `kubectl proxy`)."""
        configuration = client.Configuration()
        configuration.host = host
        return cls(namespace, label_selector, client.CoreV1Api(client.ApiClient(configuration)))

    def pods(self) -> list[dict[str, Any]]:
        """The selected pods: name, phase, ready, uid."""
        try:
            pods = self.api.list_namespaced_pod(self.namespace, label_selector=self.label_selector)
        except ApiException as error:
            raise ControlError(
                self.surface, f"listing pods {self.label_selector}: {error.reason}", error.status
            ) from error
        return [_describe(pod) for pod in pods.items]

    def kill(self, names: list[str], grace_period_seconds: int = 0) -> list[dict[str, Any]]:
        """Delete each named pod; one proof per pod (its uid, and that the API server accepted it).
        A pod that does not exist is a ControlError naming it (the API server answers 404)."""
        proofs = []
        for name in names:
            try:
                deleted = self.api.delete_namespaced_pod(
                    name, self.namespace, grace_period_seconds=grace_period_seconds
                )
            except ApiException as error:
                raise ControlError(
                    self.surface, f"deleting pod {name}: {error.reason}", error.status
                ) from error
            proofs.append({"name": name, "uid": _describe(deleted)["uid"], "deleted": True})
        return proofs


def _describe(pod: client.V1Pod) -> dict[str, Any]:
    meta, status = pod.metadata or client.V1ObjectMeta(), pod.status or client.V1PodStatus()
    return {
        "name": meta.name,
        "uid": meta.uid,
        "phase": status.phase,
        "ready": any(c.type == "Ready" and c.status == "True" for c in status.conditions or []),
    }
