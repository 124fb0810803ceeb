"""A pod stand-in for the mesh tests: a threaded HTTP/1.1 server whose answer to each request the test
scripts (status, body, delay), and which records every request it got."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0  # seconds to wait before answering (bounded by the test's own choice)
    headers: dict[str, str] = field(default_factory=dict)


Script = Callable[[Seen], Answer]


class ScriptedUpstream:
    def __init__(self, name: str, script: Script | None = None) -> None:
        self.name = name
        self.script: Script = script or self.echo
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def echo(self, seen: Seen) -> Answer:
        """The default script: 200 with what arrived, so a test can check what the mesh forwarded."""
        document = {"upstream": self.name, "method": seen.method, "path": seen.path, "headers": seen.headers}
        return Answer(
            200, json.dumps(document).encode() + seen.body, headers={"content-type": "application/json"}
        )

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    @property
    def hits(self) -> int:
        with self._lock:
            return len(self._seen)

    def record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping must not hold up stop()
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], upstream: ScriptedUpstream) -> None:
        self.upstream = upstream
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        upstream = self.server.upstream
        upstream.record(seen)
        answer = upstream.script(seen)
        if answer.delay:
            time.sleep(answer.delay)
        with contextlib.suppress(OSError):  # the mesh may have given up on us meanwhile
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        pass
