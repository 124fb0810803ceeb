"""Run one replica: `python -m service` (hypercorn), draining gracefully on SIGTERM.

On SIGTERM: readiness turns 503 at once and the worker stops taking new operations; after
DRAIN_SECONDS (time for the mesh or kube-proxy to notice) the listener closes, in-flight requests
finish within GRACEFUL_TIMEOUT_SECONDS, and the process exits.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

from service.app import create_app
from service.config import Config, ConfigError


def main() -> None:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    app = create_app(config)
    server = HypercornConfig()
    server.bind = [f"{config.host}:{config.port}"]
    server.graceful_timeout = float(os.environ.get("GRACEFUL_TIMEOUT_SECONDS", "25"))
    server.accesslog = None
    server.keep_alive_timeout = 75
    drain_seconds = float(os.environ.get("DRAIN_SECONDS", "1"))

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        async def shutdown_trigger() -> None:
            await stop.wait()
            state = app.config.get("RUNTIME")
            if state is not None:
                state.draining = True
                if state.worker is not None:
                    state.worker.drain()
            await asyncio.sleep(drain_seconds)

        await serve(app, server, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]

    asyncio.run(run())


if __name__ == "__main__":
    main()
