"""The admin API (JSON) that chaos experiments and people use to see and change the mesh live.

Every change is logged, and every answer to a change shows the state after it, so a caller can prove
that its fault is in force (or gone).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from stack.mesh.durations import format_duration
from stack.mesh.endpoints import EndpointSet
from stack.mesh.faults import Fault, FaultError, FaultTable, parse_fault
from stack.mesh.http1 import Message, local_response
from stack.mesh.metrics import MeshMetrics
from stack.mesh.routes import Route, RouteTable

log = logging.getLogger("stack.mesh")

USAGE = (
    "GET /routes, GET|PUT|DELETE /routes/{name}/fault, GET /faults, POST /faults/reset, "
    "GET /endpoints, GET /metrics"
)


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Admin:
    def __init__(
        self,
        routes: RouteTable,
        faults: FaultTable,
        endpoints: EndpointSet,
        metrics: MeshMetrics,
        source: str,
    ) -> None:
        self.routes = routes
        self.faults = faults
        self.endpoints = endpoints
        self.metrics = metrics
        self.source = source  # where the endpoint list comes from, for GET /endpoints

    async def handle(self, request: Message) -> tuple[bytes, bool]:
        close = not request.keep_alive
        method = request.start[0].decode("latin-1")
        path = request.start[1].decode("latin-1").partition("?")[0].rstrip("/") or "/"
        if method == "GET" and path == "/metrics":
            return local_response(
                200, self.metrics.exposition(), CONTENT_TYPE_LATEST.encode(), close=close
            ), close
        try:
            status, answer = self._dispatch(method, path, request.body)
        except AdminError as exc:
            status, answer = exc.status, {"error": str(exc)}
        body = json.dumps(answer, indent=2).encode() + b"\n"
        return local_response(status, body, b"application/json", close=close), close

    def _dispatch(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts == ["routes"]:
            self._allow(method, "GET")
            return 200, {"routes": [self._describe(route) for route in self.routes.routes]}
        if len(parts) == 3 and parts[0] == "routes" and parts[2] == "fault":
            route = self._route(parts[1])
            if method == "GET":
                return 200, {"route": route.name, "fault": _spec(self.faults.get(route.name))}
            if method == "PUT":
                return 200, self._put_fault(route, body)
            if method == "DELETE":
                removed = self.faults.remove(route.name)
                log.warning("admin: fault on route %s removed (was %s)", route.name, _spec(removed))
                return 200, {"route": route.name, "fault": None, "removed": _spec(removed), **self._faults()}
            raise AdminError(405, f"{method} {path}: use GET, PUT or DELETE")
        if parts == ["faults"]:
            self._allow(method, "GET")
            return 200, self._faults()
        if parts == ["faults", "reset"]:
            self._allow(method, "POST")
            cleared = {name: fault.spec() for name, fault in self.faults.reset().items()}
            log.warning("admin: all faults removed: %s", cleared)
            return 200, {"removed": cleared, **self._faults()}
        if parts == ["endpoints"]:
            self._allow(method, "GET")
            return 200, {
                "source": self.source,
                "endpoints": [endpoint.describe() for endpoint in self.endpoints.endpoints],
            }
        raise AdminError(404, f"no such admin resource: {method} {path}; the API is: {USAGE}")

    def _put_fault(self, route: Route, body: bytes) -> dict[str, Any]:
        try:
            document = json.loads(body or b"null")
        except ValueError as exc:
            raise AdminError(400, f"the body must be a JSON HTTPFaultInjection object: {exc}") from None
        try:
            fault = parse_fault(document)
        except FaultError as exc:
            raise AdminError(400, str(exc)) from None
        previous = self.faults.put(route.name, fault)
        log.warning("admin: fault on route %s set to %s (was %s)", route.name, fault.spec(), _spec(previous))
        return {"route": route.name, "fault": fault.spec(), "previous": _spec(previous), **self._faults()}

    def _faults(self) -> dict[str, Any]:
        return {"active_faults": {name: fault.spec() for name, fault in self.faults.active().items()}}

    def _route(self, name: str) -> Route:
        route = self.routes.by_name.get(name)
        if route is None:
            raise AdminError(404, f"no route named {name!r}; routes: {', '.join(self.routes.by_name)}")
        return route

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise AdminError(405, f"method {method} not allowed here: use {allowed}")

    def _describe(self, route: Route) -> dict[str, Any]:
        retry = route.retry
        retries: dict[str, Any] = {"attempts": 0}
        if retry is not None:
            retries = {
                "attempts": retry.retries,
                "perTryTimeout": format_duration(retry.per_try_timeout) if retry.per_try_timeout else None,
                "retryOn": ",".join(
                    [*sorted(retry.retry_on), *map(str, sorted(retry.retriable_status_codes))]
                ),
                "istioDefault": retry.istio_default,
            }
        return {
            "name": route.name,
            "match": route.match_spec or None,
            "timeout": format_duration(route.timeout) if route.timeout else None,
            "retries": retries,
            "fault": _spec(self.faults.get(route.name)),
        }


def _spec(fault: Fault | None) -> dict[str, Any] | None:
    return fault.spec() if fault is not None else None
