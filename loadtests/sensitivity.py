"""The finest regression the load gates catch on this machine: a baseline of the smoke profile, then
the same run with the mesh injecting ever larger faults into one route group (a delay, then a share of
503s), until the run fails naming that group. Against the local stack (`tronops up --detach`).

    python -m loadtests.sensitivity [--group tron] [--duration 30] [--scale 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import faults
from harness.clients.mesh import MeshAdmin
from harness.target import DEFAULT_STACK_DIR, StackState

DELAYS_MS = (25, 50, 75, 100, 150, 200, 300)
ERROR_PERCENTS = (0.25, 0.5, 1.0, 2.0, 5.0)


def _load(*args: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "tronops.cli", "load", *args], capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout.splitlines()


def _faults(group: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for ms in DELAYS_MS:
        yield (
            f"+{ms} ms delay",
            "p95 vs baseline",
            {"delay": {"fixedDelay": f"{ms}ms", "percentage": {"value": 100}}},
        )
    for percent in ERROR_PERCENTS:
        yield (
            f"{percent:g} % errors",
            "error ratio",
            {"abort": {"httpStatus": 503, "percentage": {"value": percent}}},
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--group", default="tron", help="the route group the faults hit")
    parser.add_argument("--duration", default="30", help="seconds per run")
    parser.add_argument("--scale", default="2", help="users x this")
    args = parser.parse_args(argv)
    state = StackState.read(Path(os.environ.get("TRONOPS_STACK_DIR", DEFAULT_STACK_DIR)))
    mesh = MeshAdmin(state.admin_url("mesh"))
    routes = faults.route_group_routes(mesh, args.group)
    shape = ("--duration", args.duration, "--scale", args.scale, "--read-only")
    with tempfile.TemporaryDirectory(prefix="sensitivity-") as scratch:
        code, lines = _load("baseline", "smoke", *shape, "--out", f"{scratch}/baseline")
        if code != 0:
            print("the baseline run did not pass; a quieter machine is needed:", *lines[-8:], sep="\n  ")
            return 1
        print(f"baseline recorded; faults on {args.group} ({', '.join(routes)}), {args.duration} s each:")
        caught: dict[str, str] = {}
        for label, gate, fault in _faults(args.group):
            kind = gate.split()[0]
            if kind in caught:
                continue  # the finest of this kind is found
            with faults.mesh_fault(mesh, routes, fault):
                code, lines = _load("run", "smoke", *shape, "--out", f"{scratch}/{label.replace(' ', '_')}")
            named = [line for line in lines if line.startswith(f"FAIL {args.group}: {gate}")]
            print(
                f"  {label:<16} {'CAUGHT: ' + named[0] if named else 'not caught (exit ' + str(code) + ')'}"
            )
            if named:
                caught[kind] = label
    print(
        f"finest caught on {args.group}: delay {caught.get('p95', 'none tried')}, "
        f"errors {caught.get('error', 'none tried')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
