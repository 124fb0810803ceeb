"""The service's log lines reach stdout once per event-loop turn, every one of them, in order."""

from __future__ import annotations

import asyncio
import io
import logging

from service.logs import TurnFlushedStreamHandler


class _Sink(io.StringIO):
    """A stream that records what each flush delivered (stdout to a pipe delivers on flush)."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[str] = []

    def flush(self) -> None:
        self.delivered.append(self.getvalue()[sum(map(len, self.delivered)) :])


def _logger(sink: _Sink) -> logging.Logger:
    logger = logging.getLogger(f"test-flush-{id(sink)}")
    logger.handlers[:] = [TurnFlushedStreamHandler(sink)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_lines_logged_in_one_turn_are_delivered_by_one_flush_at_its_end() -> None:
    sink = _Sink()
    logger = _logger(sink)

    async def requests() -> list[str]:
        for n in range(3):
            logger.info("request %d", n)
        before_turn_ends = list(sink.delivered)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return before_turn_ends

    assert asyncio.run(requests()) == []
    assert sink.delivered == ["request 0\nrequest 1\nrequest 2\n"]


def test_outside_an_event_loop_every_line_is_flushed_at_once() -> None:
    sink = _Sink()
    logger = _logger(sink)
    logger.info("starting")
    logger.info("stopped")
    assert sink.delivered == ["starting\n", "stopped\n"]


def test_the_access_line_is_the_line_the_access_logger_writes() -> None:
    """`logs.access` skips the LogRecord, not a field: same keys, order and masking as the logger."""
    import json

    from service import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    sink = io.StringIO()
    try:
        logs.configure("svc", "pod-1")
        root.handlers[0].setStream(sink)  # type: ignore[attr-defined]
        fields = {"method": "GET", "route": "/r/{id}", "status": 200, "duration_ms": 1.5, "api_key": "k"}
        logs.access(fields)
        logging.getLogger("service.access").info("request", extra=fields)
        root.handlers[0].flush()
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    direct, logged = (json.loads(line) for line in sink.getvalue().splitlines())
    assert direct.pop("ts")[:10] == logged.pop("ts")[:10]
    assert list(direct.items()) == list(logged.items())
    assert direct["api_key"] == "[redacted]" and direct["status"] == 200 and direct["pod"] == "pod-1"
