"""The store: nx-27017 (a MongoDB wire-protocol server on SQLite), served the way the stack needs it.

`python -m stack.store_server --data-dir DIR --port N` runs nx-27017's own handler and asyncio server
with three of its defaults changed:
- Each command runs on the event loop's thread. nx-27017 hands every command to a worker thread
  (`asyncio.to_thread`), yet the commands of one database run one at a time under its per-database
  lock, so the hop buys no concurrency. Where the scheduler puts the two threads on different cores,
  as in the local stack and the tests, it costs a cross-core wake-up per command.
- Its INFO lines are off (WARNING and above are kept): two for every command it passes to its
  generic path (a ping, as every readiness probe sends), to a file and to stderr, about 500 bytes.
- An aggregation no longer counts its whole collection first (`skip_unused_size_estimates`): neosqlite
  does so only to choose a memory-constrained path nx-27017 never asks for. The count grew with the
  ledger: a payout's reserved-sum aggregation cost 0.20 ms of store CPU at 0 finished payouts and
  0.32 ms at 10,000; without it, 0.18 and 0.19 (`python -m loadtests.history_benchmark`).
`python -m loadtests.store_benchmark` measures the first two both ways side by side. Not pinned: 1.2
to 1.7x less store CPU per command, six clients 1.5 to 1.9x the commands a second. Pinned to one core,
as `tronops bench` runs the store: level within the run-to-run spread, but for a ping (2x: its log
lines).
The cost: a slow command now holds up the commands of every database (before, those of its own;
MongoDB holds up neither), so a readiness ping waits behind it, a harsher stand-in, not a kinder one.
A real MongoDB answers a ping in microseconds; this is still slower, only less so. What the store
does with each command, and how it fails (paused, killed, refusing connections), is nx-27017's own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

import uvloop
from neosqlite.collection.aggregation_cursor import AggregationCursor
from nx_27017.handler import NeoSQLiteHandler
from nx_27017.server import run_server

T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each call at once on the calling thread: `asyncio.to_thread` with this as the loop's
    default executor runs the call on the loop's own thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # the caller's await raises it, as from a worker thread
            future.set_exception(exc)
        return future


def skip_unused_size_estimates() -> None:
    """Before each aggregation neosqlite estimates its result's size from a count of the whole
    collection (`SELECT COUNT(1)`, a scan), only to choose quez's memory-constrained path, which it takes
    only when the cursor asked for it (`use_quez`, never by nx-27017) and quez is installed (it is not):
    `AggregationCursor._execute` in neosqlite 1.17.2. Without it, an aggregation costs what its own
    stages do."""
    estimate = AggregationCursor._estimate_result_size

    def only_when_used(cursor: AggregationCursor) -> int:
        return estimate(cursor) if cursor._use_quez else 0

    AggregationCursor._estimate_result_size = only_when_used  # type: ignore[method-assign]


async def serve(host: str, port: int, data_dir: str) -> None:
    """Serve until SIGTERM, then close the connections and return (exit status 0, as nx-27017's own)."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(InlineExecutor())
    skip_unused_size_estimates()
    serving = asyncio.current_task()
    assert serving is not None
    loop.add_signal_handler(signal.SIGTERM, serving.cancel)
    # One SQLite file per database under data_dir: databases are isolated as on MongoDB.
    with contextlib.suppress(asyncio.CancelledError):
        await run_server(host, port, NeoSQLiteHandler(data_dir=data_dir))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack.store_server", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="one <database>.db SQLite file per database")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s - %(name)s - %(levelname)s - [%(process)d] - %(message)s"
    )
    uvloop.run(serve(args.host, args.port, args.data_dir))


if __name__ == "__main__":
    main()
