"""The Deployment controller of the Kubernetes API test double (tests/harness/kube_api_double.py), acting
on the real pods of a running local stack through its pods API (stack/pods/api.py): scaling the
Deployment scales the real pods, a changed pod template rolls them, and the status and pod list the
double answers are read from the real pods. So a drill that speaks only the Kubernetes API sees real
pods come and go, and its traffic through the real mesh sees the outage or its absence.

Followed: pkg/controller/deployment (rolling.go: a new ReplicaSet for the new template, scaled up by at
most maxSurge, old pods scaled down only as new ones become available, maxUnavailable 0 here as in
deploy/k8s/deployment.yaml; sync.go calculateStatus: replicas = pods of every ReplicaSet,
updatedReplicas = pods of the new one, readyReplicas and availableReplicas (minReadySeconds 0: ready is
available), unavailableReplicas = the ReplicaSets' spec.replicas summed (here: the pods last asked of
the pods API, the surge included) - available, never below 0; observedGeneration = the
generation the controller synced, written at the end of a sync pass, which does not wait for pods).
The ReplicaSet a pod belongs to is its `pod-template-hash` label, the hash of the template it was
made from. An old pod is removed as kubelet does on deletion: out of the endpoints, preStop, SIGTERM,
drained (the pods API's delete)."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from typing import Any

from harness.clients.pods import Pods
from harness.waiting import wait_for

READY_TIMEOUT_S = 60.0


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


class LocalPodsController:
    def __init__(self, local: Pods) -> None:
        self.local = local
        self.template_of: dict[str, str] = {}  # pod name -> hash of the template it was made from
        self.observed_generation = 0
        self._asked = 0  # the replicas last asked of the pods API: the ReplicaSets' spec.replicas summed
        self._wanted: dict[str, Any] | None = None
        self._current_hash: str | None = None
        self._wake = threading.Event()
        self._stopped = False
        self._lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def apply(self, deployment: dict[str, Any]) -> None:
        with self._lock:
            self._wanted = copy.deepcopy(deployment)
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopped:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                wanted, self._wanted = self._wanted, None
            if wanted is not None and not self._stopped:
                self._sync(wanted)

    def _sync(self, deployment: dict[str, Any]) -> None:
        new_hash = template_hash(deployment["spec"]["template"])
        desired = int(deployment["spec"]["replicas"])
        if self._current_hash is None:  # adopting the pods that run: the Deployment's first ReplicaSet
            self.template_of = {p["name"]: new_hash for p in self.local.pods()}
            self._asked = len(self.template_of)
        self._current_hash = new_hash
        self.observed_generation = int(deployment["metadata"]["generation"])
        old = [name for name in self._names() if self.template_of.get(name) != new_hash]
        for name in old:  # maxSurge 1, maxUnavailable 0: one new pod available, then one old one gone
            if self._wanted is not None:
                return  # a newer spec: the next pass continues from here, as the controller would
            self._scale(len(self._names()) + 1, new_hash)
            self.local.delete(name)
        if len(self._names()) != desired:
            self._scale(desired, new_hash)

    def _names(self) -> list[str]:
        return [p["name"] for p in self.local.pods()]

    def _scale(self, replicas: int, new_hash: str) -> None:
        before = set(self._names())
        self._asked = replicas
        made = {p["name"] for p in self.local.scale(replicas)} - before
        for name in made:
            self.template_of[name] = new_hash
        if made:
            wait_for(
                lambda: made <= {p["name"] for p in self.local.ready()}, READY_TIMEOUT_S, f"{made} ready"
            )

    def status(self, deployment: dict[str, Any]) -> dict[str, Any]:
        pods = self.local.pods()
        ready = sum(bool(p["ready"]) for p in pods)
        return {
            "observedGeneration": self.observed_generation,
            "replicas": len(pods),
            "updatedReplicas": sum(self.template_of.get(p["name"]) == self._current_hash for p in pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(self._asked - ready, 0),
        }

    def pod_url(self, name: str) -> str | None:
        return next((str(p["url"]) for p in self.local.pods() if p["name"] == name), None)

    def pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        meta = deployment["metadata"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        return [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod["name"],
                    "namespace": meta["namespace"],
                    "labels": labels | {"pod-template-hash": self.template_of.get(pod["name"], "")},
                    "uid": f"{pod['name']}-{pod.get('pid')}",
                },
                "status": {
                    "phase": "Running" if pod.get("phase") in ("running", "Running") else "Pending",
                    "conditions": [{"type": "Ready", "status": "True" if pod["ready"] else "False"}],
                },
            }
            for pod in self.local.pods()
        ]
