"""A test double of the Kubernetes API server (named as such: no cluster runs here), a small real HTTP
server on loopback answering the calls the harness and chaostoolkit-kubernetes make, as the API server
does where it matters. Followed: kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/
handlers/delete.go (DeleteResource answers 200 with the object itself, also for a pod's graceful
deletion; 202 only when cascading with OrphanDependents=false), handlers/patch.go (a custom resource
has no patch strategy, so strategic merge patch is refused with 415; the double takes only
application/merge-patch+json, the JSON Patch form is not modelled), RFC 7386 for the merge, and the
optimistic concurrency of every write (a resourceVersion in the body that is not the stored one
answers 409 Conflict, reason Conflict; every write stores a new resourceVersion).
- GET    /api/v1/namespaces/{ns}/pods?labelSelector=k=v[,k=v]  -> a PodList of the matching pods
- DELETE /api/v1/namespaces/{ns}/pods/{name}?gracePeriodSeconds=N (or in the DeleteOptions body)
         -> the Pod, now with metadata.deletionTimestamp and deletionGracePeriodSeconds
- GET|PATCH|PUT /apis/networking.istio.io/v1/namespaces/{ns}/virtualservices/{name}
- GET|PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}[/scale]: a Deployment, and its scale
  subresource as an autoscaling/v1 Scale (spec.replicas; status.replicas and status.selector). As the
  API server does (pkg/registry/apps/deployment/strategy.go PrepareForUpdate): a write that changes the
  spec, through the scale too, increments metadata.generation; status is the controller's. Patches are
  merge-patch or strategic-merge-patch (the same for the maps the harness patches; the list rules of
  strategic merge are not modelled); JSON Patch is refused with 415 (not modelled). The Deployment
  controller is given (`add_deployment(document, controller)`): it reconciles each new spec and reports
  the status and pods (tests/harness/kube_deployment_controller.py drives a local stack's real pods).
- GET    /api/v1/namespaces/{ns}/pods/{name}[:port]/proxy/{path} -> the pod's own answer to GET /{path},
         status and body passed through, as the API server's pod proxy (pods/proxy subresource) does
         (what `kubectl exec POD -- curl localhost:PORT/path` sees, without exec's streaming protocol)
Missing objects answer 404 with a Status (reason NotFound). Every call is recorded in `calls`
(method, path, content type, body); deletions also in `deleted` with their grace period."""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from stack.json_http import send_json

POD_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/:]+)(?::\d+)?/proxy(/.*)?$")
PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?$")
VIRTUAL_SERVICES = re.compile(r"^/apis/networking\.istio\.io/v1/namespaces/([^/]+)/virtualservices/([^/]+)$")
DEPLOYMENTS = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)(/scale)?$")
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    content_type: str | None
    body: Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null removes a key, anything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


class DeploymentController(Protocol):
    """What the double's Deployment controller does: reconcile a new spec (without blocking the write
    that made it), and report the Deployment's status and pods as they are now."""

    def apply(self, deployment: dict[str, Any]) -> None: ...

    def status(self, deployment: dict[str, Any]) -> dict[str, Any]: ...

    def pods(self, deployment: dict[str, Any]) -> list[dict[str, Any]]: ...

    def pod_url(self, name: str) -> str | None:
        """Where the pod `name` answers (its IP and port), or None when it is not one of its pods."""


@dataclass
class Deployment:
    document: dict[str, Any]
    controller: DeploymentController

    def now(self) -> dict[str, Any]:
        """The object as a GET answers it: its status the controller's, now."""
        found = copy.deepcopy(self.document)
        found["status"] = self.controller.status(found)
        return found

    def scale(self) -> dict[str, Any]:
        meta = self.document["metadata"]
        selector = ",".join(f"{k}={v}" for k, v in self.document["spec"]["selector"]["matchLabels"].items())
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {k: meta[k] for k in ("name", "namespace", "resourceVersion", "uid")},
            "spec": {"replicas": self.document["spec"]["replicas"]},
            "status": {"replicas": self.now()["status"].get("replicas", 0), "selector": selector},
        }


class KubeApiDouble:
    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.virtual_services: dict[tuple[str, str], dict[str, Any]] = {}
        self.deployments: dict[tuple[str, str], Deployment] = {}
        self.deleted: list[tuple[str, str, int | None]] = []  # (namespace, name, grace period)
        self.calls: list[Call] = []
        # Run before the next write is applied: another writer changing the object in between.
        self.before_next_write: Callable[[], None] | None = None
        self._version = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def add_pod(self, namespace: str, name: str, labels: dict[str, str]) -> None:
        self.pods[(namespace, name)] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels, "uid": str(uuid.uuid4())},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }

    def add_virtual_service(self, document: dict[str, Any]) -> None:
        meta = document["metadata"]
        stored = copy.deepcopy(document)
        stored["metadata"]["resourceVersion"] = self.next_version()
        self.virtual_services[(meta["namespace"], meta["name"])] = stored

    def add_deployment(self, document: dict[str, Any], controller: DeploymentController) -> None:
        stored = copy.deepcopy(document)
        stored["metadata"] |= {
            "resourceVersion": self.next_version(),
            "uid": str(uuid.uuid4()),
            "generation": 1,
        }
        meta = stored["metadata"]
        self.deployments[(meta["namespace"], meta["name"])] = Deployment(stored, controller)
        controller.apply(copy.deepcopy(stored))

    def next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def writes(self, kind: str = "virtualservices") -> list[Call]:
        return [c for c in self.calls if c.method in ("PATCH", "PUT") and f"/{kind}/" in c.path]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _matches(labels: dict[str, str], selector: str) -> bool:
    terms = [term.split("=", 1) for term in selector.split(",") if term]
    return all(labels.get(key) == value for key, value in terms)


def _status(code: int, reason: str, message: str, name: str, kind: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": {"name": name, "kind": kind},
        "code": code,
    }


def _not_found(name: str, kind: str = "pods") -> dict[str, Any]:
    return _status(404, "NotFound", f'{kind} "{name}" not found', name, kind)


def _handler(double: KubeApiDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any) -> None:
            send_json(self, status, body)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            body = json.loads(raw) if raw else None
            double.calls.append(Call(self.command, self.path, self.headers.get("Content-Type"), body))
            return body

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self._body()
            if proxy := POD_PROXY.match(unquote(url.path)):  # the client escapes the ':' of name:port
                return self._proxy(
                    proxy[1], proxy[2], (proxy[3] or "/") + (f"?{url.query}" if url.query else "")
                )
            if deployment := DEPLOYMENTS.match(url.path):
                found_deployment = double.deployments.get((deployment[1], deployment[2]))
                if found_deployment is None:
                    return self._answer(404, _not_found(deployment[2], "deployments.apps"))
                return self._answer(
                    200, found_deployment.scale() if deployment[3] else found_deployment.now()
                )
            if vs := VIRTUAL_SERVICES.match(url.path):
                found = double.virtual_services.get((vs[1], vs[2]))
                if found is None:
                    return self._answer(404, _not_found(vs[2], "virtualservices.networking.istio.io"))
                return self._answer(200, found)
            match = PODS.match(url.path)
            if not match or match[2]:
                return self._answer(404, _not_found(url.path))
            selector = parse_qs(url.query).get("labelSelector", [""])[0]
            pods = [pod for (namespace, _), pod in double.pods.items() if namespace == match[1]]
            for (namespace, _), owner in double.deployments.items():
                if namespace == match[1]:
                    pods += owner.controller.pods(owner.document)
            items = [pod for pod in pods if _matches(pod["metadata"]["labels"], selector)]
            self._answer(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})

        def _proxy(self, namespace: str, name: str, path: str) -> None:
            owners = [d for (ns, _), d in double.deployments.items() if ns == namespace]
            pod_url = next((u for d in owners if (u := d.controller.pod_url(name))), None)
            if pod_url is None:
                return self._answer(404, _not_found(name))
            try:
                answer = httpx.get(f"{pod_url}{path}", timeout=10)
            except httpx.HTTPError as error:  # the API server's proxy answers 503 when it cannot dial
                return self._answer(
                    503,
                    _status(
                        503, "ServiceUnavailable", f"error trying to reach service: {error}", name, "pods"
                    ),
                )
            self._answer(answer.status_code, answer.json())

        def _write_virtual_service(self, patch: bool) -> None:
            vs = VIRTUAL_SERVICES.match(urlsplit(self.path).path)
            body = self._body()
            if vs is None:
                return self._answer(404, _not_found(self.path))
            content_type = (self.headers.get("Content-Type") or "").split(";")[0]
            if patch and content_type != MERGE_PATCH:
                message = "the body of the request was in an unknown format - accepted media types include: "
                unsupported = _status(
                    415, "UnsupportedMediaType", message + MERGE_PATCH, vs[2], "virtualservices"
                )
                return self._answer(415, unsupported)
            with double._lock:
                if double.before_next_write is not None:
                    interleaved, double.before_next_write = double.before_next_write, None
                    interleaved()
                key = (vs[1], vs[2])
                current = double.virtual_services.get(key)
                if current is None:
                    return self._answer(404, _not_found(vs[2], "virtualservices.networking.istio.io"))
                asked = (body or {}).get("metadata", {}).get("resourceVersion")
                if (asked or not patch) and asked != current["metadata"]["resourceVersion"]:
                    message = (
                        f'Operation cannot be fulfilled on virtualservices.networking.istio.io "{vs[2]}": '
                        "the object has been modified; please apply your changes to the latest version "
                        "and try again"
                    )
                    return self._answer(409, _status(409, "Conflict", message, vs[2], "virtualservices"))
                updated = merge_patch(current, body) if patch else copy.deepcopy(body)
                updated["metadata"]["resourceVersion"] = double.next_version()
                double.virtual_services[key] = updated
            self._answer(200, updated)

        def _patch_deployment(self, match: re.Match[str]) -> None:
            body = self._body()
            content_type = (self.headers.get("Content-Type") or "").split(";")[0]
            if content_type not in (MERGE_PATCH, STRATEGIC_MERGE_PATCH):
                message = "the body of the request was in an unknown format - accepted media types include: "
                accepted = f"{MERGE_PATCH}, {STRATEGIC_MERGE_PATCH}"
                return self._answer(
                    415, _status(415, "UnsupportedMediaType", message + accepted, match[2], "deployments")
                )
            with double._lock:
                deployment = double.deployments.get((match[1], match[2]))
                if deployment is None:
                    return self._answer(404, _not_found(match[2], "deployments.apps"))
                current = deployment.document
                # the scale subresource writes only spec.replicas (pkg/registry/apps/deployment/storage)
                patch = (
                    {"spec": {"replicas": (body or {}).get("spec", {}).get("replicas")}} if match[3] else body
                )
                updated = merge_patch(current, patch)
                if not isinstance(updated["spec"].get("replicas"), int) or updated["spec"]["replicas"] < 0:
                    message = f'Deployment.apps "{match[2]}" is invalid: spec.replicas: must be >= 0'
                    return self._answer(422, _status(422, "Invalid", message, match[2], "deployments"))
                if updated["spec"] != current["spec"]:
                    updated["metadata"]["generation"] = current["metadata"]["generation"] + 1
                updated["metadata"]["resourceVersion"] = double.next_version()
                deployment.document = updated
                deployment.controller.apply(copy.deepcopy(updated))
            self._answer(200, deployment.scale() if match[3] else deployment.now())

        def do_PATCH(self) -> None:
            if deployment := DEPLOYMENTS.match(urlsplit(self.path).path):
                return self._patch_deployment(deployment)
            self._write_virtual_service(patch=True)

        def do_PUT(self) -> None:
            self._write_virtual_service(patch=False)

        def do_DELETE(self) -> None:
            url = urlsplit(self.path)
            match = PODS.match(url.path)
            body = self._body() or {}
            if not match or not match[2]:
                return self._answer(405, _not_found(url.path))
            pod = double.pods.pop((match[1], match[2]), None)
            if pod is None:
                return self._answer(404, _not_found(match[2]))
            grace = parse_qs(url.query).get("gracePeriodSeconds", [body.get("gracePeriodSeconds")])[0]
            grace_s = None if grace is None else int(grace)
            double.deleted.append((match[1], match[2], grace_s))
            pod["metadata"] |= {
                "deletionTimestamp": "2026-11-30T10:00:00Z",
                "deletionGracePeriodSeconds": grace_s,
            }
            self._answer(200, pod)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
