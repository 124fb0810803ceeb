"""A bare Quart hello-world served exactly as the service is (`service.serving.serve`: uvicorn,
in-process on one uvloop event loop): the ceiling the benchmark compares one replica against."""

from __future__ import annotations

import os

from quart import Quart

from service import serving

app = Quart("hello")


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def main() -> None:
    serving.serve(app, os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8086")))


if __name__ == "__main__":
    main()
