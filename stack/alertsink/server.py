"""HTTP face of the recorder: Alertmanager posts to /webhook; the harness reads /alerts."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from stack.alertsink.recorder import AlertRecorder
from stack.json_http import send_json


def make_server(host: str, port: int, recorder: AlertRecorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, body: Any) -> None:
            send_json(self, status, body)

        def do_POST(self) -> None:
            if self.path != "/webhook":
                return self._answer(404, {"error": "POST alerts to /webhook"})
            try:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                count = recorder.record(payload)
            except (ValueError, AttributeError) as exc:
                return self._answer(400, {"error": str(exc)})
            self._answer(200, {"recorded": count})

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/healthz":
                return self._answer(200, {"status": "ok"})
            if url.path != "/alerts":
                return self._answer(
                    404, {"error": "GET /alerts?alertname=&status=firing|resolved&since=<unix>"}
                )
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            try:
                since = float(query["since"]) if "since" in query else None
            except ValueError:
                return self._answer(400, {"error": "since must be unix seconds"})
            self._answer(200, recorder.query(query.get("alertname"), query.get("status"), since))

        def do_DELETE(self) -> None:
            if self.path != "/alerts":
                return self._answer(404, {"error": "DELETE /alerts clears the record"})
            self._answer(200, {"cleared": recorder.clear()})

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
