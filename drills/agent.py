"""The local stack's backup agent: the backup CronJob (deploy/k8s/backup-cronjob.yaml) as a process.
It runs `drills.backup.take` at the schedule's times (scaled by --time-scale, stated in its status),
and records each run in a status file the drills read: when the last complete backup was taken, and
when the next one is due. A run that outlasts the CronJob's activeDeadlineSeconds is reported failed,
as Kubernetes would kill that Job; a store that does not answer fails the run, the next one retries.

    python -m drills.agent --mongodb-uri URI [--db NAME] --to DIR --status FILE [--time-scale 0.05]
        [--listen 127.0.0.1:PORT]   # GET /status: the status file's content; GET /healthz
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from drills import backup, schedule
from drills.database import default_database, service_name
from drills.locations import LocationError, open_location


def read_status(path: Path) -> dict[str, Any]:
    """What the agent last wrote; raises OSError / ValueError when it has written nothing readable."""
    return dict(json.loads(path.read_text()))


def _write_status(path: Path, status: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(status, indent=2) + "\n")
    partial.replace(path)


def _serve(listen: str, status_file: Path) -> None:
    """The status over HTTP, so the stack's status and a scraper reach the agent like any other part."""
    host, _, port = listen.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = status_file.read_bytes() if self.path == "/status" else b"ok\n"
            known = self.path in ("/status", "/healthz")
            self.send_response(200 if known else 404)
            self.send_header("Content-Length", str(len(body) if known else 0))
            self.end_headers()
            if known:
                self.wfile.write(body)

    server = ThreadingHTTPServer((host, int(port)), Handler)
    threading.Thread(target=server.serve_forever, name="status", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m drills.agent", description=__doc__)
    parser.add_argument("--mongodb-uri", required=True)
    parser.add_argument("--db", default=default_database(), help="default: $MONGODB_DB, else the ConfigMap's")
    parser.add_argument("--to", required=True, help="a directory or s3://BUCKET/PREFIX/")
    parser.add_argument("--status", type=Path, required=True)
    parser.add_argument("--time-scale", type=float, default=1.0, help="local seconds per scheduled second")
    parser.add_argument("--listen", help="host:port for GET /status and /healthz")
    args = parser.parse_args(argv)

    plan = schedule.read().scaled(args.time_scale)
    location = open_location(args.to)
    client: MongoClient[Any] = MongoClient(args.mongodb_uri, serverSelectionTimeoutMS=2000)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    status: dict[str, Any] = {
        "schedule": asdict(plan),
        "time_scale": args.time_scale,
        "location": location.url,
        "last_success": None,  # {"archive", "started_at", "finished_at"}
        "last_failure": None,
        "next_run_at": plan.next_run(time.time()),
        "runs": 0,
    }
    _write_status(args.status, status)
    if args.listen:
        _serve(args.listen, args.status)
    print(f"backup agent: {plan.cron} every {plan.interval_seconds:g} s to {location.url}", flush=True)
    while not stop.wait(max(0.0, status["next_run_at"] - time.time())):
        started = time.time()
        status["next_run_at"] = plan.next_run(started)
        status["runs"] += 1
        try:
            manifest = backup.take(client, args.db, service_name(), location)
        except (PyMongoError, LocationError, OSError) as error:
            status["last_failure"] = {"started_at": started, "error": str(error).splitlines()[0]}
            print(f"backup agent: run failed: {status['last_failure']['error']}", flush=True)
        else:
            finished = time.time()
            outcome = {"archive": manifest.archive, "started_at": started, "finished_at": finished}
            if finished - started > plan.active_deadline_seconds > 0:
                status["last_failure"] = outcome | {"error": "ran past activeDeadlineSeconds"}
            else:
                status["last_success"] = outcome
            print(f"backup agent: {manifest.archive} in {finished - started:.2f} s", flush=True)
        _write_status(args.status, status)
    client.close()


if __name__ == "__main__":
    main()
