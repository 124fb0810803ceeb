"""A test double of the Kubernetes API server (named as such: no cluster runs here), a small real HTTP
server on loopback answering the two pod calls the harness makes, as the API server does. Followed:
kubernetes/kubernetes staging/src/k8s.io/apiserver/pkg/endpoints/handlers/delete.go (DeleteResource
answers 200 with the object itself, also for a pod's graceful deletion; 202 only when cascading with
OrphanDependents=false) and the Status body of a NotFound error (reason NotFound, code 404).
- GET  /api/v1/namespaces/{ns}/pods?labelSelector=k=v[,k=v]  -> a PodList of the matching pods
- DELETE /api/v1/namespaces/{ns}/pods/{name}?gracePeriodSeconds=N -> the Pod, now with
  metadata.deletionTimestamp and deletionGracePeriodSeconds; 404 with a Status (reason NotFound)
  for a pod that does not exist.
Deletions are recorded with their grace period so tests can see what was asked."""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stack.json_http import send_json

PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods(?:/([^/]+))?$")


class KubeApiDouble:
    def __init__(self) -> None:
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: list[tuple[str, str, int | None]] = []  # (namespace, name, grace period)
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

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _matches(labels: dict[str, str], selector: str) -> bool:
    terms = [term.split("=", 1) for term in selector.split(",") if term]
    return all(labels.get(key) == value for key, value in terms)


def _not_found(name: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": f'pods "{name}" not found',
        "reason": "NotFound",
        "details": {"name": name, "kind": "pods"},
        "code": 404,
    }


def _handler(double: KubeApiDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any) -> None:
            send_json(self, status, body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            match = PODS.match(url.path)
            if not match or match[2]:
                return self._answer(404, _not_found(url.path))
            selector = parse_qs(url.query).get("labelSelector", [""])[0]
            items = [
                pod
                for (namespace, _), pod in double.pods.items()
                if namespace == match[1] and _matches(pod["metadata"]["labels"], selector)
            ]
            self._answer(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})

        def do_DELETE(self) -> None:
            url = urlsplit(self.path)
            match = PODS.match(url.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
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
