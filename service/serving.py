"""How a replica is served: one ASGI server in-process on one uvloop event loop, stopped by SIGTERM/SIGINT.

uvicorn (httptools parser) is the default: `tronops bench --servers` measured it fastest of the three
that keep what a replica needs (README "Serving"). hypercorn (the server before) and granian stay
selectable through ASGI_SERVER, so the benchmark can put them side by side in one run. The benchmark's
bare hello-world is served by this same function, so every comparison is like for like.

Every server keeps the same contract: the lifespan start-up runs before the port answers; on a stop
signal `before_stop` runs first (readiness turns 503 while the listener stays open), then the listener
closes, idle keep-alive connections close, in-flight requests finish within `graceful_timeout`, the
lifespan shut-down runs and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvloop
from quart import Quart

SERVERS = ("uvicorn", "hypercorn", "granian")
DEFAULT_SERVER = "uvicorn"
KEEP_ALIVE_SECONDS = 75  # longer than the mesh's idle timeout, so the client side closes first
# Request line plus headers: hypercorn's (h11's) default, which the service had before. Bodies are
# bounded by Quart's MAX_CONTENT_LENGTH whatever the server.
MAX_HEAD_BYTES = 16 * 1024

StopHook = Callable[[], Awaitable[None]]


class TurnCoalescedWrites:
    """A transport whose writes in one event-loop turn leave together, in one system call.

    uvicorn writes a response's status line and headers as soon as the app starts the response, then
    its body: two `send` calls and two TCP segments for every response, where one does. The writes of
    a turn are kept and handed to the transport at the end of the turn (`writelines`: one `writev`);
    a response streamed over several turns still leaves turn by turn. Past `KEEP_AT_MOST` bytes what is
    kept goes at once, so a large body in one turn is not held in memory and meets the transport's
    flow control (pause_writing) as it did. Closing sends what is kept first. Everything else is the
    transport's own.
    """

    KEEP_AT_MOST = 64 * 1024

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._kept: list[bytes] = []
        self._kept_bytes = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._kept:
            asyncio.get_running_loop().call_soon(self._send_kept)
        self._kept.append(data)
        self._kept_bytes += len(data)
        if self._kept_bytes >= self.KEEP_AT_MOST:
            self._send_kept()

    def close(self) -> None:
        self._send_kept()
        self._transport.close()

    def _send_kept(self) -> None:
        kept, self._kept, self._kept_bytes = self._kept, [], 0
        if kept and not self._transport.is_closing():
            self._transport.writelines(kept)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class ServerChoiceError(ValueError):
    """ASGI_SERVER names no server this module knows."""


def chosen_server(name: str | None = None) -> str:
    server = name or os.environ.get("ASGI_SERVER", DEFAULT_SERVER)
    if server not in SERVERS:
        raise ServerChoiceError(f"ASGI_SERVER={server!r}: choose one of {', '.join(SERVERS)}")
    return server


def serve(
    app: Quart,
    host: str,
    port: int,
    *,
    server: str | None = None,
    graceful_timeout: float = 25.0,
    before_stop: StopHook | None = None,
) -> None:
    """Serve until a stop signal; `before_stop` runs first (e.g. draining) while the listener stays open."""
    runner = {"uvicorn": _uvicorn, "hypercorn": _hypercorn, "granian": _granian}[chosen_server(server)]
    uvloop.run(runner(app, host, port, graceful_timeout, before_stop))


@contextlib.contextmanager
def _on_stop_signal(stop: Callable[[], None], before_stop: StopHook | None) -> Iterator[None]:
    """On the first SIGTERM/SIGINT run `before_stop`, then `stop()`; the task is kept until done."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def stopping() -> None:
        if before_stop is not None:
            await before_stop()
        stop()

    def on_signal() -> None:
        if not tasks:
            task = loop.create_task(stopping())
            tasks.add(task)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _uvicorn(
    app: Quart, host: str, port: int, graceful_timeout: float, before_stop: StopHook | None
) -> None:
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadLimitedProtocol(HttpToolsProtocol):
        """httptools (llhttp) bounds no header section: count it here; raising in a parser callback
        makes uvicorn answer 400 and close, as hypercorn (h11) does past its limit. Its responses
        leave in one write each (`TurnCoalescedWrites`)."""

        head_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport = TurnCoalescedWrites(transport)  # type: ignore[assignment]

        def on_message_begin(self) -> None:
            self.head_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self.head_bytes += size
            if self.head_bytes > MAX_HEAD_BYTES:
                raise ValueError(f"request head over {MAX_HEAD_BYTES} bytes")

    class SignalsOurs(uvicorn.Server):
        """uvicorn's own handlers would stop at once and re-raise the signal after shut-down (exit
        -15); ours drain first and exit 0."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=HeadLimitedProtocol,
        lifespan="on",
        access_log=False,  # the app writes its own JSON access log (service/app.py)
        log_config=None,  # keep the app's JSON logging; uvicorn's loggers propagate to it
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=int(graceful_timeout),
        server_header=False,
    )
    server = SignalsOurs(config)

    def stop() -> None:
        server.should_exit = True

    with _on_stop_signal(stop, before_stop):
        await server.serve()


async def _hypercorn(
    app: Quart, host: str, port: int, graceful_timeout: float, before_stop: StopHook | None
) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config as HypercornConfig

    config = HypercornConfig()
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = graceful_timeout
    config.accesslog = None
    config.keep_alive_timeout = KEEP_ALIVE_SECONDS
    config.h11_max_incomplete_size = MAX_HEAD_BYTES
    stopped = asyncio.Event()
    with _on_stop_signal(stopped.set, before_stop):
        await hypercorn_serve(app, config, shutdown_trigger=stopped.wait)  # type: ignore[arg-type]


async def _granian(
    app: Quart, host: str, port: int, graceful_timeout: float, before_stop: StopHook | None
) -> None:
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server.embed import Server

    server: Any = Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http1_settings=HTTP1Settings(keep_alive=True, max_buffer_size=MAX_HEAD_BYTES),
        log_access=False,
    )
    server.workers_kill_timeout = int(graceful_timeout)
    with _on_stop_signal(server.stop, before_stop):
        await server.serve()
