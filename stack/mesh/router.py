"""Envoy's router for one request: pick an endpoint, send, and retry or time out as the route says.

The route `timeout` bounds the whole request, retries and back-off included (504 UT when it fires).
`perTryTimeout` bounds each attempt from the moment it has a connection, as Envoy arms it when the pool
hands one over: waiting in the pending queue only counts against the route timeout. A retry waits a
fully jittered exponential back-off (the n-th retry up to min((2^n - 1) x base, 10 x base), base 25 ms)
and goes to an endpoint this request has not tried yet where one exists (Istio's previous_hosts
predicate). http.maxRetries caps the retries in progress across all requests: a retry it refuses
returns the last answer with flag UO. A retryable answer with no retries left returns as it is, with
flag URX.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from stack.mesh.endpoints import Endpoint, EndpointSet
from stack.mesh.http1 import Headers, Message
from stack.mesh.outlier import OutlierDetector
from stack.mesh.policies import PoolLimits
from stack.mesh.routes import RetryPolicy, Route
from stack.mesh.upstream import ConnectFailure, ConnectionPool, Overflow, UpstreamProtocolError, UpstreamReset

# Envoy's response flags, in the order Envoy prints them.
FLAG_ORDER = ("UH", "UT", "UF", "UC", "UO", "NR", "DI", "FI", "URX", "UPE", "DC")
_RESET_BEFORE_HEADERS = b"upstream connect error or disconnect/reset before headers. reset reason: "
# (status, body, flag) of the local reply for an attempt that got no response.
_FAILURES = {
    "connect-failure": (503, _RESET_BEFORE_HEADERS + b"connection failure", "UF"),
    "reset": (503, _RESET_BEFORE_HEADERS + b"connection termination", "UC"),
    "protocol-error": (502, _RESET_BEFORE_HEADERS + b"protocol error", "UPE"),
    "per-try-timeout": (504, b"upstream request timeout", "UT"),
    "timeout": (504, b"upstream request timeout", "UT"),  # the route timeout: the request is over
    "pending-timeout": (504, b"upstream request timeout", "UT"),  # the same, still waiting for a connection
}
# Envoy maps locally originated failures to these codes for outlier detection; a request that timed
# out in the pending queue never reached its endpoint, so it does not count against it.
_OUTLIER_CODES = {
    "connect-failure": 503,
    "reset": 503,
    "protocol-error": 503,
    "per-try-timeout": 504,
    "timeout": 504,
}
_ROUTE_TIMEOUTS = frozenset({"timeout", "pending-timeout"})
_RETRY_ON_FAILURE = frozenset({"reset", "5xx", "gateway-error"})  # Envoy counts a reset as a 5xx
_GRPC_CONDITIONS = {
    b"1": "cancelled",
    b"4": "deadline-exceeded",
    b"8": "resource-exhausted",
    b"13": "internal",
    b"14": "unavailable",
}
_HEADER_CONDITIONS = frozenset({"envoy-ratelimited", *_GRPC_CONDITIONS.values()})
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE"})


@dataclass(slots=True)
class Reply:
    status: int
    headers: Headers
    body: bytes
    reason: bytes = b""
    flags: set[str] = field(default_factory=set)
    upstream_ms: int | None = None  # x-envoy-upstream-service-time; None for a local reply
    overloaded: bool = False  # x-envoy-overloaded: the mesh shed this request

    @property
    def flag_text(self) -> str:
        return ",".join(flag for flag in FLAG_ORDER if flag in self.flags) or "-"


def local_reply(status: int, body: bytes, flag: str | None) -> Reply:
    return Reply(status, [(b"content-type", b"text/plain")], body, flags={flag} if flag else set())


class Router:
    def __init__(
        self,
        endpoints: EndpointSet,
        pool: ConnectionPool,
        outlier: OutlierDetector,
        limits: PoolLimits,
        count_retry: Callable[[str], None],
    ) -> None:
        self.endpoints = endpoints
        self.pool = pool
        self.outlier = outlier
        self.max_retries = limits.max_retries
        self.retries_in_progress = 0
        self.count_retry = count_retry

    async def forward(self, route: Route, method: str, head: bytes, body: bytes) -> Reply:
        """Send the request (`head`: request line and end-to-end headers) as the route says."""
        loop = asyncio.get_running_loop()
        policy = route.retry
        deadline = loop.time() + route.timeout if route.timeout else None
        per_try = policy.per_try_timeout if policy is not None else None
        framing = b"" if method in _NO_BODY_METHODS and not body else b"content-length: %d\r\n" % len(body)
        retries_left = policy.retries if policy is not None else 0
        tried: set[Endpoint] = set()
        holding_retry = False  # this request holds one of the http.maxRetries slots
        attempt = 0
        try:
            while True:
                attempt += 1
                endpoint = self.endpoints.pick(tried)
                if endpoint is None:
                    return local_reply(503, b"no healthy upstream", "UH")
                tried.add(endpoint)
                request = head + b"x-envoy-attempt-count: %d\r\n" % attempt + framing + b"\r\n" + body
                reply, failure = await self._attempt(endpoint, request, method == "HEAD", deadline, per_try)
                if reply.overloaded:
                    return reply  # pool overflow: never retried, no endpoint to blame
                if failure != "pending-timeout":
                    code = reply.status if failure is None else _OUTLIER_CODES[failure]
                    self.outlier.record(endpoint, code, loop.time())
                if holding_retry:
                    self.retries_in_progress -= 1
                    holding_retry = False
                if failure in _ROUTE_TIMEOUTS or policy is None or not _retryable(policy, reply, failure):
                    return reply
                if retries_left == 0:
                    reply.flags.add("URX")
                    return reply
                retries_left -= 1
                if self.max_retries is not None and self.retries_in_progress >= self.max_retries:
                    reply.flags.add("UO")
                    return reply
                self.retries_in_progress += 1
                holding_retry = True
                self.count_retry(route.name)
                pause = backoff(attempt, policy.backoff_base)
                if deadline is not None and loop.time() + pause >= deadline:
                    await asyncio.sleep(max(0.0, deadline - loop.time()))
                    return local_reply(*_FAILURES["timeout"])
                await asyncio.sleep(pause)
        finally:
            if holding_retry:
                self.retries_in_progress -= 1

    async def _attempt(
        self, endpoint: Endpoint, request: bytes, head: bool, deadline: float | None, per_try: float | None
    ) -> tuple[Reply, str | None]:
        """One try: (the upstream's reply, None), or (the local reply, why there was no upstream reply)."""
        connection = None
        reusable = False
        failure = "pending-timeout"
        try:
            async with asyncio.timeout_at(deadline) as budget:
                connection = await self.pool.acquire(endpoint)
                failure = "timeout"
                if per_try is not None:
                    try_deadline = asyncio.get_running_loop().time() + per_try
                    if deadline is None or try_deadline < deadline:
                        budget.reschedule(try_deadline)
                        failure = "per-try-timeout"
                sent = time.perf_counter()
                message = await connection.exchange(request, head)
                reusable = message.keep_alive
            return _upstream_reply(message, sent), None
        except Overflow:
            reply = local_reply(503, _RESET_BEFORE_HEADERS + b"overflow", "UO")
            reply.overloaded = True
            return reply, None
        except ConnectFailure:
            failure = "connect-failure"
        except UpstreamReset:
            failure = "reset"
        except UpstreamProtocolError:
            failure = "protocol-error"
        except TimeoutError:
            pass  # `failure` already says which timeout it was
        finally:
            if connection is not None:
                self.pool.release(connection, reusable)
        return local_reply(*_FAILURES[failure]), failure


def backoff(attempt: int, base: float) -> float:
    """Envoy's fully jittered exponential back-off before retry number `attempt` (1, 2, ...)."""
    return random.uniform(0, min((2**attempt - 1) * base, 10 * base))


def _upstream_reply(message: Message, sent: float) -> Reply:
    return Reply(
        int(message.start[1]),
        message.headers,
        message.body,
        reason=message.start[2],
        upstream_ms=int((time.perf_counter() - sent) * 1000),
    )


def _retryable(policy: RetryPolicy, reply: Reply, failure: str | None) -> bool:
    on = policy.retry_on
    if failure is not None:
        return bool(on & _RETRY_ON_FAILURE) or (failure == "connect-failure" and "connect-failure" in on)
    status = reply.status
    if status >= 500 and ("5xx" in on or ("gateway-error" in on and status in (502, 503, 504))):
        return True
    if "retriable-status-codes" in on and status in policy.retriable_status_codes:
        return True
    if "retriable-4xx" in on and status == 409:
        return True
    if not on & _HEADER_CONDITIONS:
        return False
    headers = dict(reply.headers)
    if "envoy-ratelimited" in on and b"x-envoy-ratelimited" in headers:
        return True
    grpc = headers.get(b"grpc-status")
    return grpc is not None and _GRPC_CONDITIONS.get(grpc) in on
