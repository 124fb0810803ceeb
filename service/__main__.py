"""Run one replica: `python -m service` (uvicorn unless ASGI_SERVER says), draining on SIGTERM.

On SIGTERM: readiness turns 503 at once and the worker stops taking new operations; after
DRAIN_SECONDS (time for the mesh or kube-proxy to notice) the listener closes, in-flight requests
finish within GRACEFUL_TIMEOUT_SECONDS, and the process exits.
"""

from __future__ import annotations

import asyncio
import os
import sys

from service import serving
from service.app import create_app
from service.config import Config, ConfigError


def main() -> None:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    app = create_app(config)
    drain_seconds = float(os.environ.get("DRAIN_SECONDS", "1"))

    async def drain() -> None:
        state = app.config.get("RUNTIME")
        if state is not None:
            state.draining = True
            if state.worker is not None:
                state.worker.drain()
        await asyncio.sleep(drain_seconds)  # readiness is 503 now; give the mesh time to notice

    serving.serve(
        app,
        config.host,
        config.port,
        graceful_timeout=float(os.environ.get("GRACEFUL_TIMEOUT_SECONDS", "25")),
        before_stop=drain,
    )


if __name__ == "__main__":
    main()
