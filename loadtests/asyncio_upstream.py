"""The lightest upstream there is: a bare asyncio protocol answering every request with the hello-world
JSON, so the mesh benchmark can show the proxy's own cost with nothing slow behind it. GET only: a
request's head is all it reads. Started like hello_app: HOST and PORT from the environment."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import cast

RESPONSE = (
    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 18\r\n\r\n{"hello":"world"}\n'
)


class Hello(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a TCP server or connection: a stream transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4 :]
            self.transport.write(RESPONSE)


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        Hello, os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8087")), backlog=1024
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve())
