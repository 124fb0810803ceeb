"""The mesh's request path: route match, the fault filter, then the router; Istio metrics per request."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from stack.mesh.faults import FaultTable
from stack.mesh.http1 import REASONS, Message, end_to_end, response_bytes, serialize_headers
from stack.mesh.metrics import MeshMetrics
from stack.mesh.router import Reply, Router, local_reply
from stack.mesh.routes import Route, RouteTable

NO_ROUTE = "none"  # route_name label of a request no route matched (404, flag NR)
FAULT_ABORT_BODY = b"fault filter abort"


class Proxy:
    def __init__(self, routes: RouteTable, faults: FaultTable, router: Router, metrics: MeshMetrics) -> None:
        self.routes = routes
        self.faults = faults
        self.router = router
        self.metrics = metrics

    async def handle(self, request: Message) -> tuple[bytes, bool]:
        started = time.perf_counter()
        method = request.start[0].decode("latin-1")
        route = self.routes.select(method, request.start[1].decode("latin-1"), request.headers)
        route_name = route.name if route is not None else NO_ROUTE
        try:
            reply = await self._reply(request, method, route)
        except asyncio.CancelledError:
            # The client went away first: Envoy reports response code 0 with flag DC.
            self.metrics.observe(route_name, 0, "DC", (time.perf_counter() - started) * 1000)
            raise
        self.metrics.observe(
            route_name, reply.status, reply.flag_text, (time.perf_counter() - started) * 1000
        )
        return self._response(request, method, reply), not request.keep_alive

    async def _reply(self, request: Message, method: str, route: Route | None) -> Reply:
        if route is None:
            return local_reply(404, b"", "NR")
        injected = set()
        fault = self.faults.get(route.name)
        if fault is not None:
            delay = fault.draw_delay()
            if delay is not None:
                await asyncio.sleep(delay)
                injected.add("DI")
            status = fault.draw_abort()
            if status is not None:
                reply = local_reply(status, FAULT_ABORT_BODY, "FI")
                reply.flags |= injected
                return reply
        request_id = b""
        if request.header(b"x-request-id") is None:
            # A random UUID4 from the PRNG: an ID only has to be unique, and os.urandom is a syscall.
            request_id = (
                b"x-request-id: %s\r\n" % str(uuid.UUID(int=random.getrandbits(128), version=4)).encode()
            )
        head = (
            request.start[0]
            + b" "
            + request.start[1]
            + b" HTTP/1.1\r\n"
            + serialize_headers(end_to_end(request.headers))
            + request_id
        )
        reply = await self.router.forward(route, method, head, request.body)
        reply.flags |= injected
        return reply

    @staticmethod
    def _response(request: Message, method: str, reply: Reply) -> bytes:
        head_request = method == "HEAD"
        if reply.upstream_ms is None:
            headers = reply.headers
            if reply.overloaded:
                headers = [*headers, (b"x-envoy-overloaded", b"true")]
        else:
            headers = end_to_end(reply.headers, keep_length=head_request)
            headers.append((b"x-envoy-upstream-service-time", b"%d" % reply.upstream_ms))
        return response_bytes(
            reply.status,
            reply.reason or REASONS.get(reply.status, b"Unknown"),
            headers,
            reply.body,
            head_request=head_request,
            close=not request.keep_alive,
        )
