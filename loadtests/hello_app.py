"""A bare Quart hello-world served exactly as the service is (`python -m`, hypercorn in-process, one
event loop, same hypercorn settings): the ceiling the benchmark compares one replica against."""

from __future__ import annotations

import asyncio
import os
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from quart import Quart

app = Quart("hello")


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def main() -> None:
    server = HypercornConfig()
    server.bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8086')}"]
    server.graceful_timeout = 25
    server.accesslog = None
    server.keep_alive_timeout = 75

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, server, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    asyncio.run(run())


if __name__ == "__main__":
    main()
