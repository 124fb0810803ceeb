"""Upstream HTTP/1.1 connections, pooled per endpoint and kept alive, behind Envoy's circuit breakers.

An HTTP/1.1 connection carries one request at a time, so tcp.maxConnections bounds the requests in flight
upstream; a request that finds them all busy waits in the pending queue, and one that finds the queue
at http1MaxPendingRequests is refused at once (Overflow: 503 with response flag UO). Idle connections
count against the limit too: opening one at the limit first closes an idle one to another endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import cast

from stack.mesh.endpoints import Endpoint
from stack.mesh.http1 import Message, Parser, ProtocolError
from stack.mesh.policies import PoolLimits


class Overflow(Exception):
    """The pending queue is full: Envoy's upstream_rq_pending_overflow."""


class ConnectFailure(Exception):
    """The endpoint refused the connection, or it did not complete within tcp.connectTimeout."""


class UpstreamReset(Exception):
    """The connection closed before a whole response arrived."""


class UpstreamProtocolError(Exception):
    """The endpoint answered with something that is not HTTP/1.1."""


class Connection(asyncio.Protocol):
    """One keep-alive connection to an endpoint; `exchange` sends a request and waits for its response."""

    def __init__(self, pool: ConnectionPool, endpoint: Endpoint) -> None:
        self.pool = pool
        self.endpoint = endpoint
        self.parser = Parser(responses=True)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Message] | None = None
        self.closed = False
        self.requests = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP server or connection: a stream transport

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.close()  # bytes nobody asked for: the connection's state is unknown
            return
        self.parser.feed(data)
        try:
            while (message := self.parser.next_message()) is not None:
                if message.start[1][:1] != b"1":  # skip interim 1xx responses
                    self.waiter = None
                    waiter.set_result(message)
                    return
        except ProtocolError as exc:
            waiter.set_exception(UpstreamProtocolError(str(exc)))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            message = self.parser.finish()
            if message is not None:
                waiter.set_result(message)
            else:
                waiter.set_exception(UpstreamReset("connection closed before a whole response"))
        self.pool.forget(self)

    async def exchange(self, request: bytes, head: bool) -> Message:
        assert self.transport is not None
        self.requests += 1
        self.parser.bodiless_response = head
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await waiter

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()
            self.pool.forget(self)


class ConnectionPool:
    def __init__(self, limits: PoolLimits) -> None:
        self.limits = limits
        self.in_use = 0  # connection slots held by requests (connecting or exchanging)
        self.open: set[Connection] = set()
        self.idle: dict[Endpoint, list[Connection]] = {}
        self.pending: deque[asyncio.Future[None]] = deque()

    async def acquire(self, endpoint: Endpoint) -> Connection:
        limit = self.limits.max_connections
        if limit is not None and self.in_use >= limit:
            await self._wait_for_slot()
        else:
            self.in_use += 1
        try:
            idle = self.idle.get(endpoint)
            while idle:
                connection = idle.pop()
                if not connection.closed:
                    return connection
            return await self._connect(endpoint)
        except BaseException:
            self._release_slot()
            raise

    def release(self, connection: Connection, reusable: bool) -> None:
        """Give the slot back; keep the connection for the next request if it can carry one."""
        cap = self.limits.max_requests_per_connection
        if (
            reusable
            and not connection.closed
            and not connection.endpoint.gone
            and connection.parser.idle  # bytes after the response would be read as the next one
            and (cap is None or connection.requests < cap)
        ):
            self.idle.setdefault(connection.endpoint, []).append(connection)
        else:
            connection.close()
        self._release_slot()

    def forget(self, connection: Connection) -> None:
        self.open.discard(connection)
        idle = self.idle.get(connection.endpoint)
        if idle and connection in idle:
            idle.remove(connection)

    def drop(self, endpoint: Endpoint) -> None:
        """The endpoint left: close its idle connections (busy ones close when their request ends)."""
        for connection in self.idle.pop(endpoint, []):
            connection.close()

    def close_all(self) -> None:
        for connection in list(self.open):
            connection.close()

    async def _wait_for_slot(self) -> None:
        limit = self.limits.max_pending
        if limit is not None and len(self.pending) >= limit:
            raise Overflow
        waiter = asyncio.get_running_loop().create_future()
        self.pending.append(waiter)
        try:
            await waiter  # release() hands its slot straight to us
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release_slot()  # the slot came just as we gave up: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self.pending.remove(waiter)
            raise

    def _release_slot(self) -> None:
        while self.pending:
            waiter = self.pending.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_use -= 1

    async def _connect(self, endpoint: Endpoint) -> Connection:
        limit = self.limits.max_connections
        if limit is not None and len(self.open) >= limit:
            self._close_an_idle_connection()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.limits.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(self, endpoint), endpoint.host, endpoint.port
                )
        except OSError as exc:  # refused, unreachable, or the connect timeout (TimeoutError)
            raise ConnectFailure(f"{endpoint.name}: {exc!r}") from None
        self.open.add(connection)
        return connection

    def _close_an_idle_connection(self) -> None:
        for connections in self.idle.values():
            if connections:
                connections[0].close()
                return
