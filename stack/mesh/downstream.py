"""The client-facing side: an HTTP/1.1 server protocol with keep-alive, serving one request at a time
per connection (pipelined requests wait their turn), used by both the proxy and the admin API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import cast

from stack.mesh.http1 import CONTINUE, Message, Parser, ProtocolError, local_response

log = logging.getLogger("stack.mesh")

# Answers a request with the whole response to write and whether to close the connection after it
# (the handler decides, so that it can say `connection: close` in the response).
Handler = Callable[[Message], Awaitable[tuple[bytes, bool]]]


class Connections:
    """The open client connections of one listener, so shutdown can wait for them and close them."""

    def __init__(self) -> None:
        self.open: set[ServerConnection] = set()

    def busy(self) -> bool:
        return any(connection.task is not None for connection in self.open)

    def close_all(self) -> None:
        for connection in list(self.open):
            connection.close()


class ServerConnection(asyncio.Protocol):
    def __init__(self, handler: Handler, connections: Connections) -> None:
        self.handler = handler
        self.connections = connections
        self.parser = Parser(responses=False)
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP server or connection: a stream transport
        self.connections.open.add(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        if self.task is None:
            request = self._next_request()
            if request is not None:
                self.task = asyncio.get_running_loop().create_task(self._serve(request))

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.open.discard(self)
        if self.task is not None:
            self.task.cancel()  # as Envoy resets the upstream request when the client goes away

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _next_request(self) -> Message | None:
        try:
            request = self.parser.next_message()
        except ProtocolError as exc:
            self._refuse(exc)
            return None
        if self.parser.wants_continue:
            self.parser.wants_continue = False
            if request is None:  # the client waits for this before it sends the body
                assert self.transport is not None
                self.transport.write(CONTINUE)
        return request

    def _refuse(self, error: ProtocolError) -> None:
        assert self.transport is not None
        log.info("bad request from %s: %s", self.transport.get_extra_info("peername"), error)
        self.transport.write(local_response(error.status, str(error).encode() + b"\n", close=True))
        self.transport.close()

    async def _serve(self, request: Message | None) -> None:
        transport = self.transport
        assert transport is not None
        try:
            while request is not None:
                try:
                    response, close = await self.handler(request)
                except Exception:  # a bug must answer, not leave the client waiting
                    log.exception("internal error serving %r", request.start)
                    response, close = local_response(500, b"mesh internal error\n", close=True), True
                if transport.is_closing():
                    return
                transport.write(response)
                if close:
                    transport.close()
                    return
                request = self._next_request()
        finally:
            self.task = None
