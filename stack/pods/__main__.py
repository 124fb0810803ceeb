"""`python -m stack.pods`: run a Deployment's pods as local processes, with its probes, behind an HTTP API.

Prints one JSON line `{"event": "pods_ready", "api": ..., "pods": [...]}` once every pod is ready, or
says on stderr which pods are not and exits 1. SIGTERM (or Ctrl-C) stops the pods gracefully; if the
supervisor is killed outright, the kernel kills the pods (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import signal
import sys
import threading
import time
from pathlib import Path

from stack.pods.api import PodsApi
from stack.pods.manifest import ManifestError, load_deployment
from stack.pods.supervisor import Supervisor
from stack.processes import REPO


def loopback_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        number = int(port)
    except ValueError:
        loopback, number = False, -1
    if not loopback or not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a loopback HOST:PORT such as 127.0.0.1:8090")
    return host, number


def read_env(path: Path) -> dict[str, str]:
    try:
        env = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the env file {path}: {exc}") from exc
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ValueError(
            f'the env file {path} must hold a JSON object of strings, like {{"REDIS_URL": "..."}}'
        )
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stack.pods", description="Run a Deployment's pods as local processes."
    )
    parser.add_argument("--deployment", type=Path, default=REPO / "deploy" / "k8s" / "deployment.yaml")
    parser.add_argument("--replicas", type=int, default=None, help="default: the manifest's spec.replicas")
    parser.add_argument(
        "--api", type=loopback_address, default=("127.0.0.1", 0), help="HOST:PORT (port 0: any)"
    )
    parser.add_argument("--run-dir", type=Path, required=True, help="pod logs go to RUN_DIR/logs")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="factor on probe timings, back-off and grace (0.1: 10x faster)",
    )
    parser.add_argument("--env-file", type=Path, required=True, help="JSON object: the service's environment")
    parser.add_argument("--ready-timeout", type=float, default=60.0, help="seconds for all pods to get ready")
    args = parser.parse_args(argv)
    if args.replicas is not None and args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if args.time_scale <= 0:
        parser.error("--time-scale must be above 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        deployment = load_deployment(args.deployment)
        env = read_env(args.env_file)
    except (ManifestError, ValueError) as exc:
        print(f"stack.pods: {exc}", file=sys.stderr)
        return 2
    # A plain list, not an Event: a signal handler must not take a lock its own thread may hold.
    stop_signals: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _: stop_signals.append(received))
    supervisor = Supervisor(deployment, env, args.run_dir, replicas=args.replicas, time_scale=args.time_scale)
    try:
        api = PodsApi(args.api, supervisor)  # before any pod starts: a taken port fails fast
    except OSError as exc:
        print(f"stack.pods: cannot listen on {args.api[0]}:{args.api[1]}: {exc}", file=sys.stderr)
        return 2
    threading.Thread(target=api.serve_forever, name="api", daemon=True).start()
    supervisor.start()
    try:
        if not supervisor.wait_ready(args.ready_timeout, cancelled=lambda: bool(stop_signals)):
            if stop_signals:
                return 0
            print(f"stack.pods: not every pod was ready within {args.ready_timeout:.0f} s:", file=sys.stderr)
            for pod in supervisor.pods:
                if not pod.ready:
                    print(json.dumps(pod.view()), f"\n  last log lines:\n{pod.log_tail()}", file=sys.stderr)
            return 1
        print(json.dumps({"event": "pods_ready", "api": api.url, "pods": supervisor.views()}), flush=True)
        while not stop_signals:
            time.sleep(0.1)
        return 0
    finally:
        supervisor.stop()  # the API still answers meanwhile: a mesh sees the endpoints empty at once
        api.shutdown()
        api.server_close()


if __name__ == "__main__":
    sys.exit(main())
