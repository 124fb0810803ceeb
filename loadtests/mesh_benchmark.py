"""python -m loadtests.mesh_benchmark: what the local mesh costs a request.

One upstream is measured directly and then through the mesh (reading the production VirtualService and
DestinationRule; GET / takes the `default-retryable` route: 15 s timeout, retries, outlier detection),
with the same load generator (wrk, one thread), the same concurrency and duration, in one run. With 2+
CPUs the upstream gets a CPU to itself and wrk and the mesh share the rest, as a sidecar has its own CPU
budget beside the app's. Targets: the mesh keeps >= 80 % of the direct throughput and adds <= 1 ms at p50.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

from harness import objectives
from loadtests import wrk
from loadtests.procs import OTHERS, STOLEN, CpuMeter, hello_part, http_module_part, machine_busy_share, pin
from loadtests.report import Progress, describe
from stack.processes import Part, StartError, free_port, http_ok, mesh_command

THROUGHPUT_TARGET = objectives.current().benchmarks.mesh_throughput_share
ADDED_P50_TARGET_MS = objectives.current().benchmarks.mesh_added_p50_ms
WARMUP_SECONDS = 2
RUN_GRACE_SECONDS = 30.0  # how long past its duration a wrk run may take before it counts as hung
ROUTE = "default-retryable"  # the route GET / takes in deploy/istio/virtual-service.yaml
BUSY_WARNING = 0.1
NOISE_WARNING = 15.0  # % of a core used by processes outside the benchmark, above which figures are skewed


def upstream_part(kind: str, run_dir: Path) -> Part:
    if kind == "quart":
        return hello_part(run_dir)  # Quart served as the replicas are (uvicorn)
    return http_module_part("asyncio-upstream", "loadtests.asyncio_upstream", run_dir)


def mesh_part(run_dir: Path, upstream_url: str) -> tuple[Part, str]:
    """The mesh in front of the upstream, and its admin URL."""
    port, admin_port = free_port(), free_port()
    admin = f"http://127.0.0.1:{admin_port}"
    part = Part(
        "mesh",
        mesh_command(f"127.0.0.1:{port}", f"127.0.0.1:{admin_port}", endpoints=[("upstream", upstream_url)]),
        run_dir / "logs" / "mesh.log",
        lambda: http_ok(f"{admin}/endpoints"),
        url=f"http://127.0.0.1:{port}",
    )
    return part, admin


def combine(results: list[wrk.WrkResult]) -> wrk.WrkResult:
    """Slices of one target as one result: totals add up; p50 and p99 are the slices' percentiles
    weighted by their request counts (wrk reports percentiles per run, not the samples behind them)."""
    requests = sum(r.requests for r in results)
    statuses: Counter[int] = Counter()
    for result in results:
        statuses.update(result.statuses)

    def weighted(value: Callable[[wrk.WrkResult], float]) -> float:
        return sum(value(r) * r.requests for r in results) / requests if requests else 0.0

    return wrk.WrkResult(
        seconds=sum(r.seconds for r in results),
        requests=requests,
        p50_ms=weighted(lambda r: r.p50_ms),
        p99_ms=weighted(lambda r: r.p99_ms),
        socket_errors=sum(r.socket_errors for r in results),
        statuses=dict(statuses),
    )


@dataclass(frozen=True)
class Measured:
    result: wrk.WrkResult
    cpu: dict[str, float]  # mean CPU use over the slices, % of one core, by process ("everything else" too)


def _explain_cpu(direct: Measured, meshed: Measured) -> None:
    """How much CPU the upstream got in each case, and how much other work took: on a shared machine
    the mesh's own CPU use pushes other work onto the upstream's CPU, which a ratio alone hides."""
    per_cpu = [
        m.result.rps / (m.cpu["upstream"] / 100) if m.cpu["upstream"] else 0.0 for m in (direct, meshed)
    ]
    kept = per_cpu[1] / per_cpu[0] if per_cpu[0] else 0.0
    print(
        f"CPU, % of one core: upstream {direct.cpu['upstream']:.0f} direct, {meshed.cpu['upstream']:.0f} "
        f"behind the mesh; the mesh {meshed.cpu['mesh']:.0f}"
    )
    print(f"requests per upstream CPU-second: direct {per_cpu[0]:.0f}, mesh {per_cpu[1]:.0f} ({kept:.1%})")
    others = max(direct.cpu[OTHERS], meshed.cpu[OTHERS])
    if others > NOISE_WARNING:
        print(
            f"UNRELIABLE: other work on the machine took up to {others:.0f}% of a core during the runs, "
            "competing with the upstream and the mesh; rerun on a quiet machine"
        )
    stolen = max(direct.cpu[STOLEN], meshed.cpu[STOLEN])
    if stolen > NOISE_WARNING:
        print(
            f"UNRELIABLE: the host stole up to {stolen:.0f}% of a core from this machine during the runs "
            "(steal, /proc/stat): rerun when it is quieter"
        )


def counted_by_mesh(admin: str) -> int:
    """istio_requests_total for GET / answered 200: proof that the load went through the mesh."""
    with urllib.request.urlopen(f"{admin}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        int(float(line.rsplit(" ", 1)[1]))
        for line in text.splitlines()
        if line.startswith("istio_requests_total{")
        and f'route_name="{ROUTE}"' in line
        and 'response_code="200"' in line
    )


class MeshBenchmark:
    def __init__(self, run_dir: Path, wrk_binary: str, seconds: int, concurrency: int) -> None:
        self.run_dir = run_dir
        self.wrk_binary = wrk_binary
        self.slice_seconds = max(1, seconds // 2)
        self.seconds = 2 * self.slice_seconds
        self.concurrency = concurrency
        self.say = Progress()
        cpus = sorted(os.sched_getaffinity(0))
        self.upstream_cpu = {cpus[0]} if len(cpus) > 1 else None
        self.other_cpus = set(cpus[1:]) if len(cpus) > 1 else None

    def measure(self, targets: dict[str, tuple[str, dict[str, int]]]) -> dict[str, Measured]:
        """Warm each target up, then measure them in slices ordered A B B A, so that a drift in other
        load on the machine falls on both alike; each target's slices are combined into one result."""
        plan = wrk.Plan("GET", ["/"])
        for name, (url, _) in targets.items():
            self._collect(self._start(url, plan, f"{name}-warm", WARMUP_SECONDS), WARMUP_SECONDS)
        first, second = targets
        slices: dict[str, list[tuple[wrk.WrkResult, dict[str, float]]]] = {first: [], second: []}
        for index, name in enumerate((first, second, second, first)):
            url, pids = targets[name]
            slices[name].append(self._slice(f"{name} {len(slices[name]) + 1}/2", index, url, plan, pids))
        return {
            name: Measured(
                combine([result for result, _ in runs]),
                {key: fmean(cpu[key] for _, cpu in runs) for key in runs[0][1]},
            )
            for name, runs in slices.items()
        }

    def _slice(
        self, label: str, index: int, url: str, plan: wrk.Plan, pids: dict[str, int]
    ) -> tuple[wrk.WrkResult, dict[str, float]]:
        self.say(f"{label}: measuring {self.slice_seconds} s at concurrency {self.concurrency} ...")
        run = self._start(url, plan, f"slice-{index}", self.slice_seconds)
        meter = CpuMeter({**pids, "wrk": run.pid})
        edge = min(0.5, self.slice_seconds / 4)  # read CPU over the middle of the run, while wrk still runs
        time.sleep(edge)
        meter.start()
        time.sleep(self.slice_seconds - 2 * edge)
        shares = meter.shares()
        result = self._collect(run, self.slice_seconds)
        self.say(f"{label}: {describe(result)}")
        self.say(f"{label}: CPU use, % of one core: " + ", ".join(f"{k} {v:.0f}" for k, v in shares.items()))
        return result, shares

    def _start(self, url: str, plan: wrk.Plan, name: str, seconds: int) -> subprocess.Popen[str]:
        return wrk.start(
            self.wrk_binary,
            url,
            plan,
            self.run_dir / f"{name}.lua",
            seconds=seconds,
            connections=self.concurrency,
            cpus=self.other_cpus,
        )

    @staticmethod
    def _collect(run: subprocess.Popen[str], seconds: int) -> wrk.WrkResult:
        return wrk.collect(run, seconds + RUN_GRACE_SECONDS)

    def run(self, upstream_kind: str) -> int:
        parts: list[Part] = []
        try:
            upstream = upstream_part(upstream_kind, self.run_dir)
            parts.append(upstream)  # before it starts, so an interrupt while it starts still stops it
            upstream.start()
            mesh, admin = mesh_part(self.run_dir, upstream.url)
            parts.append(mesh)
            mesh.start()
            if self.upstream_cpu is not None and self.other_cpus is not None:
                pin(upstream.pid, self.upstream_cpu)
                pin(mesh.pid, self.other_cpus)
            self._describe_setup(upstream_kind)
            results = self.measure(
                {
                    "direct": (upstream.url, {"upstream": upstream.pid}),
                    "mesh": (mesh.url, {"upstream": upstream.pid, "mesh": mesh.pid}),
                }
            )
            counted = counted_by_mesh(admin)
            self.say(f"mesh: istio_requests_total{{route_name={ROUTE!r}, response_code='200'}} = {counted}")
            return self._verdict(results["direct"], results["mesh"], counted)
        finally:
            self.say("stopping the mesh and the upstream ...")
            for part in reversed(parts):
                part.stop()

    def _describe_setup(self, upstream_kind: str) -> None:
        kind = {
            "quart": "Quart hello-world on uvicorn (as the replicas are served)",
            "asyncio": "bare asyncio",
        }
        print(f"mesh benchmark: upstream = {kind[upstream_kind]}; GET / direct vs through the mesh")
        print(
            f"  load: wrk, 1 thread, {self.concurrency} connections, "
            f"{self.seconds} s per target (two {self.slice_seconds} s slices, in the order direct, mesh, "
            f"mesh, direct) after a {WARMUP_SECONDS} s warm-up each"
        )
        if self.upstream_cpu is not None:
            print(
                f"  pinning: upstream on CPU {min(self.upstream_cpu)}; mesh and wrk on CPU "
                f"{','.join(map(str, sorted(self.other_cpus or ())))}"
            )
        else:
            print("  pinning: none (one CPU): upstream, mesh and wrk share it")
        busy = machine_busy_share(1.0)
        print(
            f"  machine: {os.cpu_count()} CPUs, {busy:.0%} busy just before the start"
            + (" (other work competes: figures will be noisy)" if busy > BUSY_WARNING else ""),
            flush=True,
        )

    def _verdict(self, direct_run: Measured, mesh_run: Measured, counted: int) -> int:
        direct, meshed = direct_run.result, mesh_run.result
        ratio = meshed.rps / direct.rps if direct.rps else 0.0
        added_p50 = meshed.p50_ms - direct.p50_ms
        throughput_ok = ratio >= THROUGHPUT_TARGET
        latency_ok = added_p50 <= ADDED_P50_TARGET_MS
        print()
        print(f"{'':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
        for label, result in (("direct", direct), ("through mesh", meshed)):
            print(
                f"{label:<14}{result.rps:>10.1f}{result.p50_ms:>10.2f}{result.p99_ms:>10.2f}{result.errors:>8}"
            )
        print(
            f"{'mesh/direct':<14}{ratio:>10.1%}{added_p50:>+10.2f}{meshed.p99_ms - direct.p99_ms:>+10.2f}"
            f"   (p50/p99 columns: added ms)"
        )
        print(
            f"target: throughput >= {THROUGHPUT_TARGET:.0%} of direct: {'PASS' if throughput_ok else 'MISS'} "
            f"({ratio:.1%})"
        )
        print(
            f"target: added p50 <= {ADDED_P50_TARGET_MS:.1f} ms: {'PASS' if latency_ok else 'MISS'} "
            f"({added_p50:+.2f} ms)"
        )
        _explain_cpu(direct_run, mesh_run)
        problems = []
        if direct.errors or meshed.errors:
            problems.append(f"errors: direct {direct.errors}, mesh {meshed.errors}")
        if counted < meshed.requests:
            problems.append(f"the mesh counted {counted} requests, fewer than wrk's {meshed.requests}")
        for problem in problems:
            print(f"problem: {problem}")
        print(flush=True)
        return 0 if throughput_ok and latency_ok and not problems else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.mesh_benchmark", description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per target (default 10)")
    parser.add_argument("--concurrency", type=int, default=16, help="open connections (default 16)")
    parser.add_argument(
        "--upstream",
        choices=("quart", "asyncio"),
        default="quart",
        help="quart: a hello-world served like the replicas (default); asyncio: the lightest upstream",
    )
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.concurrency < 1:
        parser.error("--seconds and --concurrency must be at least 1")
    try:
        wrk_binary = wrk.ensure_installed()
    except wrk.WrkError as exc:
        print(f"mesh benchmark: {exc}", file=sys.stderr)
        return 1
    # SIGTERM unwinds like Ctrl-C, so the `finally` blocks stop every child process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_dir = Path(tempfile.mkdtemp(prefix="mesh-bench-"))
    try:
        return MeshBenchmark(run_dir, wrk_binary, args.seconds, args.concurrency).run(args.upstream)
    except (StartError, wrk.WrkError, OSError) as exc:
        print(f"mesh benchmark: could not finish: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mesh benchmark: interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
