"""How a replica is served: hypercorn in-process on one uvloop event loop, stopped by SIGTERM/SIGINT.
The benchmark's bare hello-world is served by this same function, so the two compare fairly."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

import uvloop
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config as HypercornConfig
from quart import Quart


def serve(
    app: Quart,
    host: str,
    port: int,
    *,
    graceful_timeout: float = 25.0,
    before_stop: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Serve until a stop signal; `before_stop` runs first (e.g. draining) while the listener stays open."""
    config = HypercornConfig()
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = graceful_timeout
    config.accesslog = None
    config.keep_alive_timeout = 75

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        async def shutdown_trigger() -> None:
            await stop.wait()
            if before_stop is not None:
                await before_stop()

        await hypercorn_serve(app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]

    uvloop.run(run())
