"""python -m stack.mesh: the local Istio mesh in front of the pods; prints a JSON ready line on stdout."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import uvloop

from stack.mesh.app import Options, StartupError, serve
from stack.mesh.istio_config import ConfigError


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (PORT 0 picks a free one), got {text!r}")
    return host, int(port)


def _endpoint(text: str) -> tuple[str, str]:
    name, _, url = text.partition("=")
    if not name or not url.startswith("http://"):
        raise argparse.ArgumentTypeError(f"expected NAME=http://HOST:PORT, got {text!r}")
    return name, url


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m stack.mesh", description=__doc__)
    parser.add_argument("--listen", type=_address, default=("127.0.0.1", 8085), help="proxy HOST:PORT")
    parser.add_argument("--admin", type=_address, default=("127.0.0.1", 15000), help="admin API HOST:PORT")
    parser.add_argument("--virtual-service", type=Path, default=Path("deploy/istio/virtual-service.yaml"))
    parser.add_argument("--destination-rule", type=Path, default=Path("deploy/istio/destination-rule.yaml"))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--endpoints-url", help="GET returns the READY pods: [{name, url}, ...]; polled every 0.5 s"
    )
    source.add_argument(
        "--endpoint", type=_endpoint, action="append", default=[], help="NAME=http://HOST:PORT (repeatable)"
    )
    args = parser.parse_args(argv)
    return Options(
        listen=args.listen,
        admin=args.admin,
        virtual_service=args.virtual_service,
        destination_rule=args.destination_rule,
        endpoints_url=args.endpoints_url,
        endpoints=args.endpoint,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s mesh %(levelname)s %(message)s"
    )
    try:
        # uvloop: its C event loop and transports make the proxy's per-request overhead a fraction of
        # asyncio's, as Envoy's sidecar is a fraction of the app's cost.
        uvloop.run(serve(options, lambda event: print(json.dumps(event), flush=True)))
    except (ConfigError, StartupError) as exc:
        print(f"mesh: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
