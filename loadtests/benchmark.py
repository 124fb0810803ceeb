"""`tronops bench`: one replica's read and write throughput beside a bare Quart app, per ASGI server,
beside a baseline (the service as another git ref serves it), then a memory soak.

Everything runs on this machine from one run: the real backends (store, Redis, TRON devnet), one
service replica at a time as deployed (its background worker on), the bare app served the same way
by the same server, and wrk as the load generator with the same settings for every target. With 2+
CPUs the measured process gets a CPU to itself and wrk and the backends share the others, so every
target gets the same core. Each server is measured in turn within the one run, so the ratios between
them hold even on a machine whose other load drifts between runs. With `rounds` > 1 every contender is
measured once per round, in alternating order (so a drift in the machine's load favours none), and
each figure is the median of its rounds: one noisy round does not decide a target.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from harness import objectives
from harness.clients.http import metric_sum
from harness.tokens import mint_token
from loadtests import soak, wrk
from loadtests.fixtures import SetupError, Writer, payout_body, provision_writers, seed_payouts
from loadtests.pace import SLOWED, PaceProbe, describe_slowed
from loadtests.procs import OTHERS, CpuMeter, hello_part, machine_busy_share, pin
from loadtests.report import Progress, Row, describe, server_table, table
from loadtests.stats import pool_size, share
from stack.local import Backends, start_backends
from stack.processes import PYTHON, REPO, Part, StartError, service_part

READ_TARGET = objectives.current().benchmarks.read_path_share  # of the bare app's throughput
MAX_ERROR_RATE = 0.01
PAYOUTS_PER_MINUTE = objectives.current().rate_limit("payouts")  # per user; reads and writes both count
WARMUP_SECONDS = 2
FUND_SUN = 1_000 * 1_000_000  # 1000 TRX per writer: 90 tiny payouts plus their network fees, many times over
SEED_PAYOUTS = 8
# After the write run, how long to wait for the worker's next report of its queue (it sets the gauge
# at the end of each round, and a round under load takes seconds).
QUEUE_REPORT_WAIT_SECONDS = 15.0
# Others using more than NOISE_WARNING % of a core while the target stays under SATURATED % of its own
# means they held it back; a target at a full core was the bottleneck itself, whatever else ran.
NOISE_WARNING = 25.0
SATURATED = 90.0
BUSY_WARNING = 0.1  # more of the machine than this used by others before the start skews the figures
RUN_GRACE_SECONDS = 60.0  # how long past its duration a wrk run may take before it counts as hung
# The servers service/serving.py runs by ASGI_SERVER (named here: the harness imports no `service`).
SERVERS = ("uvicorn", "hypercorn", "granian")
DEPLOYED_SERVER = "uvicorn"  # what the service runs unless told otherwise
READ_GAIN_TARGET = 1.5  # the deployed server's read throughput over the baseline's
WRITE_GAIN_TARGET = 2.0
BASELINE_LABEL = "baseline"
SOAK_RATE_GUESS = 3000.0  # req/s that sizes the soak's readers (it runs before the read runs)
# A round measured while the host slowed the CPUs (loadtests/pace.py) is measured once more, each run's
# figure then from the measurement the host slowed less (`least_slowed`); before each round the bench
# waits this long at most for the full pace (judged over the last few seconds). Waits and measuring
# again stop once they took PACE_BUDGET_SECONDS in all: then the rounds go on and slowed figures are
# flagged. The host's slow spells seen here lasted from seconds to minutes.
PACE_WAIT_SECONDS = 60.0
PACE_JUDGED_SECONDS = 3.0
PACE_BUDGET_SECONDS = 600.0
RUNS = ("bare", "read", "write")


@dataclass(frozen=True)
class Contender:
    """One way of serving the service, measured beside the others in the same run."""

    label: str
    server: str | None  # ASGI_SERVER for it; None: the code's own default (the baseline)
    source: Path = REPO  # where its `service` package comes from


@dataclass
class Measured:
    bare: wrk.WrkResult | None  # the hello-world on the same server (none for the baseline)
    read: wrk.WrkResult
    write: wrk.WrkResult
    cpu: dict[str, float]  # % of one core the target used, by run ("bare", "read", "write")
    carried: float | None = None  # payouts/s the replica's worker took from its queue during `write`
    drained: float | None = None  # the same, for as long again after `write`, with no requests
    names: dict[str, str] = field(default_factory=dict)  # the name each run was measured under, by run

    def result(self, run: str) -> wrk.WrkResult | None:
        return {"bare": self.bare, "read": self.read, "write": self.write}[run]

    def runs(self) -> list[tuple[wrk.WrkResult, float] | None]:
        return [
            None if result is None else (result, self.cpu[name])
            for name, result in (("bare", self.bare), ("read", self.read), ("write", self.write))
        ]


def _rps(result: wrk.WrkResult | None) -> float:
    return result.rps if result is not None else 0.0


def median_of(rounds: list[Measured]) -> Measured:
    """Per run (bare, read, write), the round with the median req/s, with that round's CPU share: a
    figure that one run measured, not a blend. Rounds are odd in number, so the median is one of them."""
    picked: dict[str, Measured] = {}
    for run in RUNS:
        ranked = sorted(rounds, key=lambda m: _rps(m.result(run)))
        picked[run] = ranked[len(ranked) // 2]
    return _assemble(picked)


def least_slowed(measurements: list[Measured], slowdown: Callable[[str], float]) -> Measured:
    """Per run, the measurement of one round the host slowed least (`slowdown` of the name the run was
    measured under; the earliest on a tie). A round is measured again because the host slowed some of
    its runs; a run it left alone the first time keeps that figure, instead of one taken later that it
    may have slowed. Chosen by the host's pace, never by the req/s, so the pick favours no contender."""
    picked = {
        run: min(measurements, key=lambda m: slowdown(m.names[run]) if run in m.names else 1.0)
        for run in RUNS
    }
    return _assemble(picked)


def _assemble(picked: dict[str, Measured]) -> Measured:
    """One Measured of each run's figure from the measurement picked for it, with that run's CPU share
    (and the write run's worker figures)."""
    return Measured(
        picked["bare"].bare,
        picked["read"].read,
        picked["write"].write,
        {run: picked[run].cpu[run] for run in picked},
        picked["write"].carried,
        picked["write"].drained,
        {run: name for run in picked if (name := picked[run].names.get(run))},
    )


@dataclass(frozen=True)
class PayoutQueue:
    """A replica's payout queue and the payouts it has accepted, as its /metrics reports them."""

    depth: float  # tron_payout_queue_depth: payouts waiting for the worker
    accepted: float  # http_requests_total of 202s to POST /api/v1/payouts/initiate
    at: float  # time.monotonic() of the read

    @classmethod
    def read(cls, replica: Part) -> PayoutQueue:
        with urllib.request.urlopen(f"{replica.url}/metrics", timeout=10) as response:
            return cls.from_page(response.read().decode(), time.monotonic())

    @classmethod
    def from_page(cls, page: str, at: float) -> PayoutQueue:
        accepted = metric_sum(
            page, "http_requests_total", method="POST", route="/api/v1/payouts/initiate", status="202"
        )
        return cls(metric_sum(page, "tron_payout_queue_depth"), accepted, at)

    def taken_since(self, before: PayoutQueue) -> float:
        """Payouts the worker took from the queue since `before`: those accepted meanwhile, less what
        the queue grew by. About: a payout being accepted as the page is read may be in one, not both."""
        return (self.accepted - before.accepted) - (self.depth - before.depth)

    def taken_per_second(self, before: PayoutQueue) -> float:
        return self.taken_since(before) / (self.at - before.at)


class _Terminated(Exception):
    """SIGTERM arrived: unwind through the `finally` blocks so every child is stopped."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


class Bench:
    def __init__(
        self,
        run_dir: Path,
        wrk_binary: str,
        duration: float,
        concurrency: int,
        soak: float,
        servers: list[str],
        baseline_ref: str | None,
        rounds: int = 1,
    ) -> None:
        self.run_dir = run_dir
        self.rounds = rounds
        self.baseline_ref = baseline_ref
        self.contenders = [Contender(server, server) for server in servers]
        if baseline_ref is not None:
            self.contenders.append(
                Contender(BASELINE_LABEL, None, checkout(baseline_ref, run_dir / "baseline"))
            )
        self.wrk_binary = wrk_binary
        self.seconds = max(1, round(duration))
        self.concurrency = concurrency
        self.soak = round(soak)
        self.say = Progress()
        self.nonce = uuid.uuid4().hex[:8]
        self.ttl = int(3600 + 2 * self.soak + 20 * self.seconds)
        cpus = sorted(os.sched_getaffinity(0))
        self.target_cpu = {cpus[0]} if len(cpus) > 1 else None
        self.other_cpus = set(cpus[1:]) if len(cpus) > 1 else None
        self.backends: Backends | None = None
        self.parts: list[Part] = []
        self.wrk_run: subprocess.Popen[str] | None = None
        self.failures: list[str] = []
        self.noisy: list[str] = []  # runs during which other work on the machine competed
        self.target_cpu_used: dict[str, float] = {}  # % of one core the target used, by run name
        self.windows: dict[str, tuple[float, float]] = {}  # when each run's figures were taken, by run name
        self.probe = PaceProbe(cpus)
        self.pace_budget = PACE_BUDGET_SECONDS  # what is left for waiting for the host's pace

    # -- lifecycle ---------------------------------------------------------------------------------
    def stop_all(self) -> None:
        self.probe.stop()
        if self.wrk_run is not None and self.wrk_run.poll() is None:
            self.wrk_run.kill()
            self.wrk_run.wait(10)
        for part in self.parts:
            part.stop()
        if self.backends is not None:
            self.backends.stop()

    def _pin(self, part: Part, cpus: set[int] | None) -> None:
        if cpus is not None:
            pin(part.pid, cpus)

    def _backend_pids(self) -> dict[str, int]:
        assert self.backends is not None
        return {p.name: p.pid for p in (self.backends.store, self.backends.redis, self.backends.devnet)}

    def _cpus_busy(self, meter: CpuMeter) -> str:
        """How busy the target's CPU and the others were: the one near 100 % is what bounds the run,
        even where no single process on it is. Empty when nothing is pinned."""
        if self.target_cpu is None or self.other_cpus is None:
            return ""
        target = self.target_cpu
        busy = meter.busy_by_cpu(target | self.other_cpus)
        where = {cpu: "with the target" if cpu in target else "with the rest" for cpu in busy}
        return ", ".join(f"{cpu} {where[cpu]} {pct:.0f}" for cpu, pct in busy.items())

    # -- measuring ---------------------------------------------------------------------------------
    def _wrk(self, url: str, plan: wrk.Plan, name: str, seconds: int) -> subprocess.Popen[str]:
        self.wrk_run = wrk.start(
            self.wrk_binary,
            url,
            plan,
            self.run_dir / f"{name}.lua",
            seconds=seconds,
            connections=self.concurrency,
            cpus=self.other_cpus,
        )
        return self.wrk_run

    def measure(self, name: str, url: str, plan: wrk.Plan, target: Part) -> wrk.WrkResult:
        """A warm-up run (discarded), then the measured run; CPU use of every process is printed."""
        wrk.collect(
            self._wrk(
                url, plan.with_keys(f"bench-{self.nonce}-{name}-warm-"), f"{name}-warm", WARMUP_SECONDS
            ),
            WARMUP_SECONDS + RUN_GRACE_SECONDS,
        )
        self.say(f"{name}: measuring {self.seconds} s ...")
        run = self._wrk(url, plan.with_keys(f"bench-{self.nonce}-{name}-"), name, self.seconds)
        meter = CpuMeter(
            {"target": target.pid, "wrk": run.pid, **(self._backend_pids() if self.backends else {})}
        )
        # CPU is read over the run's middle, while wrk still runs: its figures vanish when it exits.
        edge = min(0.5, self.seconds / 4)
        time.sleep(edge)
        meter.start()
        time.sleep(self.seconds - 2 * edge)
        shares = meter.shares()
        busy = self._cpus_busy(meter)
        self.windows[name] = (meter.started, time.monotonic())
        result = wrk.collect(run, self.seconds + RUN_GRACE_SECONDS)
        self.say(f"{name}: {describe(result)}")
        self.say(f"{name}: CPU use, % of one core: " + ", ".join(f"{k} {v:.0f}" for k, v in shares.items()))
        if busy:
            self.say(f"{name}: CPUs busy, % of each (kernel work included): {busy}")
        slowed = self.probe.pace.slowed(*self.windows[name])
        if slowed:
            self.say(f"{name}: WARNING: the host slowed the CPUs during the run: {describe_slowed(slowed)}")
        self.target_cpu_used[name] = shares["target"]
        if shares[OTHERS] > NOISE_WARNING and shares["target"] < SATURATED:
            self.say(
                f"{name}: WARNING: other work on the machine took {shares[OTHERS]:.0f}% of a core while the "
                f"target used only {shares['target']:.0f}%: these figures are likely too low"
            )
            self.noisy.append(name)
        self._check_errors(name, result)
        if not target.alive():
            raise StartError(f"{target.name} exited during {name}; see {target.log_path}")
        return result

    def _check_errors(self, name: str, result: wrk.WrkResult) -> None:
        if result.requests == 0:
            self.failures.append(f"{name}: no request completed")
        elif result.error_rate > MAX_ERROR_RATE:
            message = (
                f"{name}: {result.errors} of {result.requests} requests failed ({result.error_rate:.2%}), "
                f"over the {MAX_ERROR_RATE:.0%} limit: the figures above are not valid"
            )
            self.say(f"!!! FAIL {message}")
            self.failures.append(message)

    def admin_tokens(self, rate: float, seconds: float, label: str) -> list[str]:
        """Readers with the admin role (which sees every payout), enough that none is rate-limited."""
        count = pool_size(rate, seconds, PAYOUTS_PER_MINUTE)
        secret = self._secret()
        return [mint_token(secret, f"bench-{label}-{i}", ["admin"], self.ttl) for i in range(count)]

    def _secret(self) -> str:
        assert self.backends is not None
        return self.backends.service_env()["JWT_SECRET"]

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> int:
        self._intro()
        self.probe.start()
        self.say("starting store, redis and the TRON devnet ...")
        self.backends = backends = start_backends(self.run_dir / "stack")
        for part in (backends.store, backends.redis, backends.devnet):
            self._pin(part, self.other_cpus)
        if self.soak > 0:
            # First, while the store holds only the seeded payouts: after the write runs nx-27017
            # counts every payout for each history page (60 ms for 5,000, all other queries waiting),
            # and the soak ran at 18 req/s: it measured the store, not the replica's memory.
            replica = self._start_replica(Contender(DEPLOYED_SERVER, DEPLOYED_SERVER), DEPLOYED_SERVER)
            self._soak(replica, self._seed(replica, DEPLOYED_SERVER), SOAK_RATE_GUESS)
            self._stop_part(replica)
        rounds: dict[str, list[Measured]] = {contender.label: [] for contender in self.contenders}
        for number in range(1, self.rounds + 1):
            order = self.contenders if number % 2 else self.contenders[::-1]
            for contender in order:
                name = contender.label if self.rounds == 1 else f"{contender.label}.{number}"
                rounds[contender.label].append(self._paced_round(contender, name))
        if self.contenders:
            if self.rounds > 1:
                self._print_rounds(rounds)
            self._verdict({label: median_of(runs) for label, runs in rounds.items()})
        return self._summary()

    def _paced_round(self, contender: Contender, name: str) -> Measured:
        """One round of `contender`, after waiting for the host's full pace, and measured once more if the
        host slowed the CPUs during any of its runs: such figures say how busy the host was, not how fast
        the code is. Both within the bench's PACE_BUDGET_SECONDS. Of a round measured twice, each run's
        figure comes from the measurement the host slowed less (`least_slowed`)."""
        measurements: list[Measured] = []
        label = name
        while True:
            again = bool(measurements)
            began = time.monotonic()
            if self.pace_budget > 0:
                wait = min(PACE_WAIT_SECONDS, self.pace_budget)
                self.probe.await_full_pace(wait, PACE_JUDGED_SECONDS, self.say)
            if not again:
                self.pace_budget -= time.monotonic() - began  # the wait; a round measured again counts whole
            replica = self._start_replica(contender, label)
            measured = self._measure_contender(contender, label, replica, self._seed(replica, label))
            self._stop_part(replica)  # one replica at a time: none competes with the measured one
            if again:
                self.pace_budget -= time.monotonic() - began
            measurements.append(measured)
            slowed = self._slowed_runs(measured)
            if not slowed or again or self.pace_budget <= 0:
                break
            self.say(f"{label}: the host slowed {', '.join(slowed)}: measuring this round once more")
            label = f"{name}.again"
        if len(measurements) == 1:
            return measurements[0]
        picked = least_slowed(measurements, self._slowdown)
        self.say(
            f"{name}: each run from the measurement the host slowed less: "
            + ", ".join(
                f"{run} {chosen} ({'/'.join(f'{self._slowdown(m.names[run]):.2f}x' for m in measurements)})"
                for run, chosen in picked.names.items()
            )
        )
        return picked

    def _slowdown(self, name: str) -> float:
        """How much less the most slowed CPU got done during run `name` (1.0: full pace, or no samples)."""
        return max((s.factor for s in self.probe.pace.slowdown(*self.windows[name]).values()), default=1.0)

    def _slowed_runs(self, measured: Measured) -> list[str]:
        """The runs of `measured` during which the host slowed any CPU, judged by every sample so far."""
        return [name for name in measured.names.values() if self.probe.pace.slowed(*self.windows[name])]

    def _print_rounds(self, rounds: dict[str, list[Measured]]) -> None:
        print("\nreq/s per round (rounds alternate the order; the tables below take each figure's median)")
        for label, runs in rounds.items():
            for run in RUNS:
                if all(m.result(run) is not None for m in runs):
                    print(f"  {label:<10} {run:<6}" + "".join(f"{_rps(m.result(run)):>9.1f}" for m in runs))

    def _start_replica(self, contender: Contender, name: str) -> Part:
        assert self.backends is not None
        self.say(f"{name}: starting one service replica ...")
        env = {"ASGI_SERVER": contender.server} if contender.server else {}
        # A database of its own (one SQLite file in nx-27017): each write run leaves thousands of
        # payouts, and a store holding more answers slower, so a shared one favoured whoever ran first
        # (one run: uvicorn's write 398, 334, 240 req/s over three rounds, the baseline's 228, 206, 183).
        env["MONGODB_DB"] = "bench_" + name.replace(".", "_")
        part = service_part(self.backends.run_dir, f"bench-{name}", self.backends.service_env(**env))
        if contender.source != REPO:
            # `-P`: the baseline's `service` package (first on PYTHONPATH) shadows this checkout's.
            part = dataclasses.replace(
                part,
                argv=[PYTHON, "-P", "-m", "service"],
                env={**part.env, "PYTHONPATH": str(contender.source)},
            )
        self.parts.append(part)
        self._pin(part.start(timeout=60), self.target_cpu)
        return part

    def _stop_part(self, part: Part) -> None:
        part.stop()
        self.parts.remove(part)

    def _seed(self, replica: Part, name: str) -> list[str]:
        """The payouts the reads fetch, queued in the replica's own database."""
        assert self.backends is not None
        self.say(f"{name}: funding a wallet from the devnet faucet and queueing payouts to read ...")
        seeder = asyncio.run(
            provision_writers(
                replica.url,
                self.backends.devnet.url,
                self._secret(),
                [f"bench-seeder-{self.nonce}-{name}"],
                FUND_SUN,
                self.ttl,
            )
        )[0]
        return asyncio.run(seed_payouts(replica.url, seeder, self.backends.treasury, SEED_PAYOUTS))

    def _measure_contender(
        self, contender: Contender, name: str, replica: Part, payout_ids: list[str]
    ) -> Measured:
        assert self.backends is not None
        bare = None
        if contender.server is not None:
            self.say(f"{name}: starting the hello-world app on the same server ...")
            hello = hello_part(self.run_dir)
            hello.env = {**hello.env, "ASGI_SERVER": contender.server}
            self.parts.append(hello)  # before it starts, so an interrupt while it starts still stops it
            self._pin(hello.start(), self.target_cpu)
            # The bare app ignores the token; it is sent so that every target gets the same request bytes.
            bare = self.measure(
                f"{name}-bare",
                hello.url,
                wrk.Plan("GET", ["/"], self.admin_tokens(1, 1, "bare")),
                hello,
            )
            self._stop_part(hello)
        read_seconds = WARMUP_SECONDS + self.seconds
        read = self.measure(
            f"{name}-read",
            replica.url,
            wrk.Plan(
                "GET",
                [f"/api/v1/payouts/{payout_ids[0]}"],
                self.admin_tokens(max(bare.rps if bare else 0, 3000), read_seconds, f"reader-{name}"),
            ),
            replica,
        )
        writers = self._writers(name, replica, read.rps)
        before = PayoutQueue.read(replica)
        write = self.measure(
            f"{name}-write",
            replica.url,
            wrk.Plan(
                "POST",
                ["/api/v1/payouts/initiate"],
                [w.token for w in writers],
                [payout_body(w, self.backends.treasury) for w in writers],
            ),
            replica,
        )
        carried = self._taken(f"{name}-write", replica, before)
        time.sleep(self.seconds)  # the replica serves nothing meanwhile: its worker has it to itself
        drained = self._taken(f"{name}-after", replica, carried)
        cpu = {run: self.target_cpu_used.get(f"{name}-{run}", 0.0) for run in RUNS}
        names = {run: f"{name}-{run}" for run in RUNS if f"{name}-{run}" in self.windows}
        return Measured(
            bare, read, write, cpu, carried.taken_per_second(before), drained.taken_per_second(carried), names
        )

    def _taken(self, name: str, replica: Part, before: PayoutQueue) -> PayoutQueue:
        """The replica's queue at its worker's next report, with what the worker took from it (to sign
        and send) since `before`: what the replica accepted less what its queue grew by, from its own
        /metrics. The queue's gauge is set at the end of each worker round, so the report is awaited."""
        ended = PayoutQueue.read(replica)
        after, deadline = ended, time.monotonic() + QUEUE_REPORT_WAIT_SECONDS
        while after.depth == ended.depth and time.monotonic() < deadline:
            time.sleep(0.2)
            after = PayoutQueue.read(replica)
        if after.depth == ended.depth:  # no new report: the queue stood still (empty, or frozen)
            after = ended
        accepted, elapsed = after.accepted - before.accepted, after.at - before.at
        self.say(
            f"{name}: the worker took {after.taken_since(before):.0f} payouts from the queue in "
            f"{elapsed:.0f} s ({after.taken_per_second(before):.1f}/s) while the replica accepted "
            f"{accepted:.0f} ({accepted / elapsed:.1f}/s); {after.depth:.0f} still queued"
        )
        return after

    def _intro(self) -> None:
        print(
            f"tronops bench: one service replica vs a bare Quart hello-world on the same server, for "
            f"{', '.join(c.label for c in self.contenders)}; each `python -m`, the server in-process on "
            f"one uvloop event loop\n"
            f"  generator: wrk, 1 thread, {self.concurrency} connections, {WARMUP_SECONDS} s warm-up then "
            f"{self.seconds} s per endpoint, same settings for every target"
        )
        for contender in self.contenders:
            if contender.source != REPO:
                print(
                    f"  {contender.label}: the service as git ref {self.baseline_ref} has it, served its way"
                )
        if self.target_cpu is not None:
            print(
                f"  pinning: the measured process on CPU {min(self.target_cpu)}; wrk, store, redis, devnet "
                f"on CPU {','.join(map(str, sorted(self.other_cpus or ())))} (taskset / sched_setaffinity)"
            )
        else:
            print("  pinning: none (only one CPU is available), so wrk shares the CPU with the target")
        print(
            f"  host pace: a fixed piece of work timed in CPU time on each CPU every {self.probe.every} s, "
            "and the time the host stole from each (steal, /proc/stat); a round measured while the host "
            "slowed a CPU (its work's mean over its best, over the share of time left to it, >= "
            f"{SLOWED:.1f}x) is measured once more, each run's figure from the measurement the host slowed "
            "less; rounds wait for the full pace (up to "
            f"{PACE_BUDGET_SECONDS:.0f} s in all)"
        )
        busy = machine_busy_share(1.0)
        print(
            f"  machine: {os.cpu_count()} CPUs, {busy:.0%} busy just before the start"
            + (": other work competes, so figures will be low and noisy" if busy > BUSY_WARNING else "")
        )
        if self.rounds > 1:
            print(
                f"  rounds: {self.rounds}, every contender once per round in alternating order; each figure "
                "is the median of its rounds"
            )
        print(
            "  replica: as deployed, background worker on, on a store database of its own; requests spread "
            "over many users (readers hold the admin role, which sees every payout) so the "
            f"{PAYOUTS_PER_MINUTE}/min per-user limit is never reached",
            flush=True,
        )

    def _writers(self, label: str, replica: Part, rate: float) -> list[Writer]:
        """Writers for the write run; the read rate bounds the write rate, so it sizes the pool."""
        assert self.backends is not None
        count = pool_size(rate, WARMUP_SECONDS + self.seconds, PAYOUTS_PER_MINUTE)
        self.say(f"{label}-write: creating and funding {count} wallets, one per user ...")
        subs = [f"bench-writer-{self.nonce}-{label}-{i}" for i in range(count)]
        return asyncio.run(
            provision_writers(replica.url, self.backends.devnet.url, self._secret(), subs, FUND_SUN, self.ttl)
        )

    def _verdict(self, measured: dict[str, Measured]) -> None:
        for label, m in measured.items():
            bare_rps = m.bare.rps if m.bare else 0.0
            rows = [Row(f"{label:<10} bare   GET / (hello-world)", m.bare, 1.0)] if m.bare else []
            rows += [
                Row(f"{label:<10} read   GET /api/v1/payouts/{{id}}", m.read, share(m.read.rps, bare_rps)),
                Row(
                    f"{label:<10} write  POST /api/v1/payouts/initiate", m.write, share(m.write.rps, bare_rps)
                ),
            ]
            print("\n" + table(rows))
        reference = BASELINE_LABEL if BASELINE_LABEL in measured else next(iter(measured))
        print("\n" + server_table({label: m.runs() for label, m in measured.items()}, reference))
        # Not a target: what a replica accepts becomes a payment only once its worker carries it.
        print(
            "payouts/s the worker took from its queue during the write run (accepted/s beside it), then "
            "for as long again with no requests: "
            + ", ".join(
                f"{label} {m.carried:.1f} ({m.write.rps:.0f}), then {m.drained:.1f}"
                for label, m in measured.items()
                if m.carried is not None and m.drained is not None
            )
        )
        # With the machine to itself the replica runs at a full core and req/s is the figure; when other
        # work competed (as flagged above) it got less than its core, and requests per CPU-second it
        # used still compare.
        slowed = [name for m in measured.values() for name in self._slowed_runs(m)]
        per_cpu = bool(self.noisy)
        unit = "req per CPU-second" if per_cpu else "req/s"
        for what, ok, figure in self._checks(measured, per_cpu):
            print(f"target ({unit}): {what}: {'PASS' if ok else 'MISS'} ({figure})")
            if not ok:
                self.failures.append(f"{what}: missed ({figure}, {unit})")
        if self.noisy:
            print(
                f"  UNRELIABLE: other work on the machine competed during {', '.join(self.noisy)}, so "
                "these ratios are skewed either way; rerun on a quiet machine"
            )
        if slowed:
            print(
                f"  UNRELIABLE: the host slowed the CPUs during {', '.join(slowed)} (figures picked above), "
                "so those figures are low; rerun when the host is quieter"
            )
        print(flush=True)

    @staticmethod
    def _checks(measured: dict[str, Measured], per_cpu: bool) -> list[tuple[str, bool, str]]:
        """(target, met, figure) for the targets this run can judge."""

        def rate(m: Measured, run: str) -> float:
            result = m.result(run)
            if result is None:
                return 0.0
            return result.rps / (m.cpu[run] / 100) if per_cpu and m.cpu[run] > 0 else result.rps

        checks: list[tuple[str, bool, str]] = []
        deployed = measured.get(DEPLOYED_SERVER)
        with_bare = [label for label, m in measured.items() if m.bare is not None]
        if deployed is not None and with_bare:
            fastest = max(with_bare, key=lambda label: rate(measured[label], "bare"))
            read_share = share(rate(deployed, "read"), rate(measured[fastest], "bare"))
            what = f"read path on {DEPLOYED_SERVER} >= {READ_TARGET:.0%} of bare on the fastest ({fastest})"
            checks.append((what, read_share >= READ_TARGET, f"{read_share:.1%}"))
        baseline = measured.get(BASELINE_LABEL)
        if deployed is not None and baseline is not None:
            for run, target in (("read", READ_GAIN_TARGET), ("write", WRITE_GAIN_TARGET)):
                gain = share(rate(deployed, run), rate(baseline, run))
                what = f"{run} on {DEPLOYED_SERVER} >= {target:.1f}x the baseline's"
                checks.append((what, gain >= target, f"{gain:.2f}x"))
        return checks

    def _soak(self, replica: Part, payout_ids: list[str], rate: float) -> None:
        paths = [
            *(f"/api/v1/payouts/{pid}" for pid in payout_ids),
            "/api/v1/payouts/history?limit=5",
            "/api/v1/tron/network/status",
            "/api/v1/wallets",
        ]
        plan = wrk.Plan("GET", paths, self.admin_tokens(rate, self.soak, "soaker"))
        self.say(f"soak: {self.soak} s of mixed reads ({len(paths)} paths), {soak.criteria(self.soak)}")
        run = self._wrk(replica.url, plan, "soak", self.soak)
        samples = soak.sample_rss(run, replica.pid, self.soak, RUN_GRACE_SECONDS, self.say)
        result = wrk.collect(run, RUN_GRACE_SECONDS)
        self.say(f"soak: load: {describe(result)}")
        self._check_errors("soak", result)
        verdict = soak.judge(samples, self.soak)
        if not verdict.ok:
            self.failures.append(f"soak: {verdict.reason}")

    def _summary(self) -> int:
        if self.noisy:
            print(f"bench: note: other work on the machine competed during: {', '.join(self.noisy)}")
        if not self.failures:
            print("bench: all checks passed")
            return 0
        print("bench: FAILED:\n" + "\n".join(f"  - {failure}" for failure in self.failures), file=sys.stderr)
        return 1


def checkout(ref: str, into: Path) -> Path:
    """The `service` package as git `ref` has it, unpacked under `into` (no worktree, no checkout)."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "service"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise SetupError(f"baseline {ref!r}: git archive failed: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def run_benchmark(
    duration: float,
    concurrency: int,
    soak_seconds: float,
    servers: list[str] | None = None,
    baseline_ref: str | None = None,
    rounds: int = 1,
) -> int:
    """Run the whole benchmark and return the exit code: 0 when every check passed. `servers=None`:
    every one; `[]`: none, only the soak."""
    if rounds < 1 or rounds % 2 == 0:
        print(
            f"bench: --rounds: expected an odd number >= 1 (the median is one round), got {rounds}",
            file=sys.stderr,
        )
        return 2
    try:
        wrk_binary = wrk.ensure_installed()
    except wrk.WrkError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    unknown = sorted(set(servers or ()) - set(SERVERS))
    if unknown:
        print(f"bench: --servers: expected some of {', '.join(SERVERS)}, got {unknown}", file=sys.stderr)
        return 2
    if servers == [] and soak_seconds <= 0:
        print("bench: nothing to measure: no server and no soak (--soak 0)", file=sys.stderr)
        return 2
    run_dir = Path(tempfile.mkdtemp(prefix="tronops-bench-"))
    try:
        bench = Bench(
            run_dir,
            wrk_binary,
            duration,
            concurrency,
            soak_seconds,
            list(SERVERS) if servers is None else servers,
            baseline_ref,
            rounds,
        )
    except SetupError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    keep_logs = True  # for a failure, even an unforeseen one; a finished or interrupted run leaves nothing
    try:
        code = bench.run()
        keep_logs = False
        return code
    except (StartError, SetupError, wrk.WrkError, TimeoutError, OSError) as exc:
        print(f"bench: could not finish: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Terminated):
        keep_logs = False
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        bench.say("stopping everything the benchmark started ...")
        bench.stop_all()
        signal.signal(signal.SIGTERM, previous)
        if keep_logs:
            print(f"bench: logs kept in {run_dir / 'logs'} and {run_dir / 'stack' / 'logs'}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
