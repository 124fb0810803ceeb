"""python -m stack.alertsink --host 127.0.0.1 --port P [--journal FILE]"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from stack.alertsink.recorder import AlertRecorder
from stack.alertsink.server import make_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="stack.alertsink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9095)
    parser.add_argument("--journal", type=Path, help="also append every alert to this JSON-lines file")
    args = parser.parse_args()
    try:
        server = make_server(args.host, args.port, AlertRecorder(args.journal))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        sys.exit(1)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=server.shutdown).start())
    print(
        json.dumps({"event": "alertsink_ready", "url": f"http://{args.host}:{server.server_port}"}),
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
