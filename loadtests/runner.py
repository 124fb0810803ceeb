"""`tronops load run|baseline`: run a profile with Locust (one process, or a master and N workers), then
judge it: the route groups' gates from the master's merged histograms, the server-side cross-check
from Prometheus, the soak's memory gate, the payout audit after money moved, the stress knee; print the
table and a `FAIL` line per failing gate, and write JUnit, Locust's CSV and HTML, and the JSON summary.

`LoadError` is a run that could not be made (exit 2), with one line naming the cause.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness import objectives
from harness import summary as run_summary
from harness.clients.pods import Pods
from harness.clients.prometheus import Prometheus
from harness.target import DEFAULT_STACK_DIR, LocalTarget, StackState, Target, TargetError
from harness.tokens import mint_token
from loadtests import gates, server_side, verdict
from loadtests.audit import audit_payouts
from loadtests.latency import ByGroup
from loadtests.procs import OTHERS, STOLEN, cpu_seconds, cpu_times
from loadtests.profiles import Profile, ProfileError, get
from loadtests.settings import SAY, Settings
from stack.processes import free_port

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SETUP_SLACK_S = 120.0  # beyond the profile's length: users making test data, workers joining, quitting
AUDIT_WAIT_S = 180.0  # accepted payouts wait for confirmations (19 blocks of 3 s on `tronops up`'s devnet)
SAY_LINE = re.compile(r"^" + re.escape(SAY))


class LoadError(RuntimeError):
    """The run could not be made; the message names the cause."""


@dataclass(frozen=True)
class Where:
    """What a run talks to: the service, and around it what the target offers."""

    label: str  # "local", or the base URL
    base_url: str
    token: str | None
    jwt_secret: str | None
    devnet_url: str | None = None
    usdt_contract: str | None = None  # with devnet_url: the chain side the money audit reads
    prometheus_url: str | None = None
    pods_url: str | None = None
    part_pids: dict[str, int] = field(default_factory=dict)
    baseline_dir: Path = DEFAULT_STACK_DIR.parent / "load-baselines"  # where this target's baselines go


def local(stack_dir: Path) -> Where:
    from stack.local import LOCAL_SECRETS

    try:
        state = StackState.read(stack_dir)
        return Where(
            label="local",
            base_url=state.service_url,
            token=None,
            jwt_secret=os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"],
            devnet_url=state.url("devnet"),
            usdt_contract=state.usdt_contract,
            prometheus_url=state.url("prometheus"),
            pods_url=state.url("pods"),
            part_pids={part.name: part.pid for part in state.parts},
            baseline_dir=stack_dir / "load-baselines",  # a new stack is a new target: its own baselines
        )
    except TargetError as error:
        raise LoadError(str(error)) from None


def remote(base_url: str, token: str | None, prometheus_url: str | None = None) -> Where:
    """Any deployment of the contract: no faucet (read-only), tokens given or minted from JWT_SECRET."""
    secret = os.environ.get("JWT_SECRET")
    if not token and not secret:
        raise LoadError("no token: pass --token, or set JWT_SECRET to mint one per user")
    slug = re.sub(r"[^A-Za-z0-9.-]+", "_", base_url.split("://", 1)[-1]).strip("_")
    return Where(
        label=base_url,
        base_url=base_url.rstrip("/"),
        token=token,
        jwt_secret=secret,
        prometheus_url=prometheus_url,
        baseline_dir=DEFAULT_STACK_DIR.parent / "load-baselines" / slug,
    )


def of_target(target: Target, token: str | None) -> Where:
    if isinstance(target, LocalTarget):
        return local(target.stack_dir)
    return remote(target.base_url, token, target.prometheus_url)


@dataclass(frozen=True)
class Run:
    profile: Profile
    where: Where
    out: Path
    workers: int = 0
    read_only: bool = False
    record_baseline: bool = False
    locustfile: Path = LOCUSTFILE
    scale: float = 1.0
    duration: float | None = None
    say: Callable[[str], None] = field(default=print)
    # Set by whoever runs the load beside something else (chaos --load): ends the run now, results kept.
    stop: threading.Event = field(default_factory=threading.Event)
    keep_going: bool = False  # never abort on a gate lost beyond recovery (beside chaos: errors expected)

    @property
    def baseline_file(self) -> Path:
        return self.where.baseline_dir / f"{self.profile.name}.json"


def check_reachable(where: Where) -> None:
    """Exit-2 causes found before any load: the service unreachable, or the token refused."""
    token = where.token or mint_token(where.jwt_secret or "", "load-probe", ("user",))
    try:
        live = httpx.get(f"{where.base_url}/health/live", timeout=10.0)
        probe = httpx.get(
            f"{where.base_url}/api/v1/wallets", headers={"Authorization": f"Bearer {token}"}, timeout=10.0
        )
    except httpx.HTTPError as error:
        raise LoadError(f"target {where.base_url} is unreachable: {error!r}") from None
    if live.status_code != 200:
        raise LoadError(f"target {where.base_url}: /health/live answered {live.status_code}")
    if probe.status_code in (401, 403):
        raise LoadError(
            f"target {where.base_url} refused the token ({probe.status_code}): check --token or JWT_SECRET"
        )


# ---- running Locust ---------------------------------------------------------------------------------


class CpuSampler:
    """CPU seconds of the stack's parts and the generator, once a second, to say what bound a stress."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)

    def start(self) -> CpuSampler:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            used = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
            machine = cpu_times()["cpu"]
            self.samples.append((time.time(), used | {OTHERS: machine.busy, STOLEN: machine.stolen}))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def shares(self, start: float, end: float) -> dict[str, float]:
        """Each process's CPU over [start, end] as a share of one core; OTHERS is the whole machine's,
        STOLEN what the host took from all its CPUs."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        return {name: (last[name] - first.get(name, last[name])) / (t1 - t0) for name in last}


def _locust_argv(run: Run, role: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(run.locustfile),
        "--headless",
        "-H",
        run.where.base_url,
        *role,
    ]


def _pod_pids(where: Where) -> dict[str, int]:
    if not where.pods_url:
        return {}
    with Pods(where.pods_url) as pods:
        return {f"pod {pod['name']}": int(pod["pid"]) for pod in pods.pods() if pod.get("pid")}


def run_locust(run: Run, settings: Settings) -> tuple[dict[str, Any], CpuSampler]:
    """Start the master (or the lone process) and the workers, show progress, return the results."""
    run.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **settings.to_environment(), "PYTHONUNBUFFERED": "1"}
    reports = ["--csv", str(run.out / "locust"), "--html", str(run.out / "locust.html"), "--only-summary"]
    port = free_port()
    if run.workers:
        master = _locust_argv(
            run,
            ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
             "--expect-workers", str(run.workers), "--expect-workers-max-wait", "60", *reports],
        )  # fmt: skip
    else:
        master = _locust_argv(run, reports)
    log = (run.out / "locust.log").open("w")
    processes = [subprocess.Popen(master, env=env, stdout=subprocess.PIPE, stderr=log, text=True)]
    for _ in range(run.workers):
        worker = _locust_argv(run, ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)])
        processes.append(subprocess.Popen(worker, env=env, stdout=log, stderr=log, text=True))
    generators = {
        ("generator" if i == 0 and not run.workers else f"locust {i}"): p.pid for i, p in enumerate(processes)
    }
    sampler = CpuSampler({**run.where.part_pids, **_pod_pids(run.where), **generators}).start()

    over = threading.Event()

    def stop_when_over() -> None:
        """Asked to stop (chaos --load): the profile ends at its next tick, as at its last stage, and
        writes its results; past the bound (or the profile not ending), SIGTERM."""
        if run.stop.wait(run.profile.seconds + SETUP_SLACK_S) and settings.stop_file is not None:
            settings.stop_file.touch()
            over.wait(SETUP_SLACK_S)
        if not over.is_set() and processes[0].poll() is None:
            processes[0].send_signal(signal.SIGTERM)

    stopper = threading.Thread(target=stop_when_over, name="load-stopper", daemon=True)
    stopper.start()
    try:
        assert processes[0].stdout is not None
        for line in processes[0].stdout:
            if SAY_LINE.match(line):
                run.say(line[len(SAY) :].rstrip())
            else:
                log.write(line)
        processes[0].wait()
    finally:
        over.set()
        run.stop.set()
        sampler.stop()
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    if settings.results is None or not settings.results.exists():
        raise LoadError(
            f"the load run could not be made: locust exited {processes[0].returncode} without results; "
            f"see {run.out / 'locust.log'}"
        )
    return dict(json.loads(settings.results.read_text())), sampler


# ---- judging ----------------------------------------------------------------------------------------


def _stress_lines(run: Run, results: dict[str, Any], sampler: CpuSampler) -> list[str]:
    """The knee: the highest rate at which every gate held, and what was busiest where it broke."""
    stages = results["stages"]
    if not stages:
        return ["stress: no stage completed"]
    broken_at = next((i for i, s in enumerate(stages) if s["broken"]), None)
    held = stages[: broken_at if broken_at is not None else len(stages)]
    lines = []
    if held:
        knee = max(held, key=lambda s: s["req_per_s"])
        lines.append(f"knee: {knee['req_per_s']:.1f} req/s at {knee['users']} users (every gate held)")
    else:
        lines.append("knee: below the first stage (a gate broke at once)")
    judged = stages[broken_at] if broken_at is not None else stages[-1]
    if broken_at is not None:
        lines.append(
            f"broke at {judged['users']} users ({judged['req_per_s']:.1f} req/s): "
            + ", ".join(judged["broken"])
        )
    else:
        lines.append(
            f"no gate broke up to {judged['users']} users: the knee is higher than this profile goes"
        )
    offsets = [0.0]
    for stage in run.profile.stages:
        offsets.append(offsets[-1] + stage.seconds)
    index = judged["stage"]
    shares = sampler.shares(
        results["started_at"] + offsets[index], results["started_at"] + offsets[index + 1]
    )
    if shares:
        machine, stolen = shares.pop(OTHERS, 0.0), shares.pop(STOLEN, 0.0)
        busiest = sorted(shares.items(), key=lambda item: -item[1])[:4]
        cores = os.cpu_count() or 1
        lines.append(
            "bound by: "
            + ", ".join(f"{name} {share:.0%} of a core" for name, share in busiest)
            + f"; the machine {machine / cores:.0%} busy ({cores} cores)"
            + (f", {stolen / cores:.0%} of its time stolen by the host" if stolen / cores >= 0.01 else "")
        )
    return lines


def _warnings(results: dict[str, Any], machine: dict[str, float]) -> list[str]:
    """The generator's own limits: CPU near a core, users late for their pace (coordinated omission);
    and the host's: CPU time it stole from this machine (`machine`: CpuSampler's shares over the run)."""
    tolerances = objectives.current().load_gates
    lines = []
    stolen = machine.get(STOLEN, 0.0) / (os.cpu_count() or 1)
    if stolen >= tolerances.host_steal_warning:
        lines.append(
            f"WARN host: the hypervisor took {stolen:.0%} of this machine's CPU time during the run (steal, "
            f"/proc/stat; bound {tolerances.host_steal_warning:.0%}): latencies measured here include it, "
            f"so compare them with a baseline's only when both runs had little"
        )
    for process, cpu in sorted(results["cpu_max"].items()):
        if cpu >= tolerances.generator_cpu_saturation * 100:
            lines.append(
                f"WARN generator saturated: {process} reached {cpu:.0f}% of a core; latencies include its "
                f"own queueing: add --workers"
            )
    iterations = results["iterations"]
    if iterations and results["late"] / iterations > tolerances.missed_pace_ratio:
        lines.append(
            f"WARN coordinated omission: users were late for {results['late'] / iterations:.1%} of their "
            f"iterations (bound {tolerances.missed_pace_ratio:.0%}): the service held them up, so requests "
            f"they would have sent meanwhile were never timed; the throughput gate shows the shortfall"
        )
    return lines


def execute(run: Run) -> int:
    """The whole run, from the first probe to the last file; 0 pass, 1 a gate failed, 2 not made."""
    check_reachable(run.where)
    baseline = _baseline(run)
    settings = Settings(
        profile=run.profile.name,
        scale=run.scale,
        duration=run.duration,
        read_only=run.read_only or run.where.devnet_url is None,
        token=run.where.token,
        jwt_secret=run.where.jwt_secret,
        devnet_url=run.where.devnet_url,
        results=run.out / "results.json",
        baseline=run.baseline_file if baseline else None,
        stop_file=run.out / "stop",
        keep_going=run.keep_going,
    )
    settings.results.unlink(missing_ok=True)  # type: ignore[union-attr]
    settings.stop_file.unlink(missing_ok=True)  # type: ignore[union-attr]
    mode = "read-only" if settings.read_only else "moving money with faucet-funded test data"
    generators = f"a master and {run.workers} workers" if run.workers else "one Locust process"
    run.say(
        f"load {run.profile.name} against {'the local stack at ' if run.where.label == 'local' else ''}"
        f"{run.where.base_url}: {run.profile.seconds:.0f} s, up to {run.profile.peak_users} users, "
        f"{mode}, {generators}"
    )
    if baseline:
        run.say(f"regression gates against the baseline in {run.baseline_file}")
    results, sampler = run_locust(run, settings)
    return report(run, results, sampler, baseline)


def _baseline(run: Run) -> gates.Baseline | None:
    if run.record_baseline or not run.baseline_file.exists():
        return None
    recorded = gates.Baseline.read(run.baseline_file)
    read_only = run.read_only or run.where.devnet_url is None
    if (recorded.scale, recorded.read_only) != (run.scale, read_only):
        run.say(
            f"baseline {run.baseline_file} was recorded at --scale {recorded.scale}"
            f"{', read-only' if recorded.read_only else ', moving money'}: another load, not used"
        )
        return None
    return recorded


def _money_audit(run: Run, results: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The ledger against the chain over the run's window (`tronops audit`'s code), as one verdict;
    inconclusive where the target names no chain to read (run `tronops audit --chain-url` there)."""
    from harness.audit.chain import ChainUnreadable
    from harness.audit.ledger import LedgerUnreadable
    from harness.audit.run import audit

    name = "ledger equals chain (tronops audit)"
    if not (run.where.devnet_url and run.where.usdt_contract):
        notes.append("money audit not made: the target names no chain; run `tronops audit --chain-url URL`")
        return {"group": "money"} | run_summary.verdict(name, None, "==", 0.0, "findings")
    since_ms = int(results["started_at"] * 1000)
    try:
        report = audit(
            run.where.base_url,
            _admin_token(run.where),
            run.where.devnet_url,
            run.where.usdt_contract,
            since_ms=since_ms,
            stuck_after_ms=int(AUDIT_WAIT_S * 1000),
        )
    except (LedgerUnreadable, ChainUnreadable) as error:
        notes.append(f"money audit could not be made: {error}")
        return {"group": "money"} | run_summary.verdict(name, None, "==", 0.0, "findings")
    notes.append(f"money audit: {report.summary()}")
    notes.extend(f"  {finding.line()}" for finding in report.findings)
    return {"group": "money"} | run_summary.verdict(name, float(len(report.findings)), "==", 0.0, "findings")


def report(run: Run, results: dict[str, Any], sampler: CpuSampler, baseline: gates.Baseline | None) -> int:
    latencies = verdict.latencies_of(results)
    verdicts = verdict.judge_results(results, baseline)
    errors: dict[str, str] = {}
    notes: list[str] = []
    server: dict[str, server_side.ServerFigures] = {}
    if results["aborted"]:
        notes.append(f"aborted early: {results['aborted']}")
    if run.where.prometheus_url:
        prometheus = Prometheus(run.where.prometheus_url)
        window = time.time() - results["started_at"]
        _, unsettled = server_side.safely("prometheus", server_side.settle, prometheus)
        found, problem = server_side.safely(
            "server-side figures", server_side.figures, prometheus, sorted(latencies), window
        )
        server = found or {}
        client = {g: (e.percentile(0.95), e.error_ratio()) for g, e in latencies.items()}
        notes += [f"cross-check {line}" for line in server_side.disagreements(client, server)]
        if problem or unsettled:
            notes.append(f"cross-check not made: {problem or unsettled}")
        if run.profile.memory_gate:
            memory, problem = server_side.safely("pod memory", server_side.memory_gates, prometheus, window)
            verdicts += memory or []
            if problem:
                errors["memory"] = problem
    else:
        notes.append("cross-check not made: the target names no Prometheus")
    if results["money_moves"]:
        audit = audit_payouts(
            run.where.base_url, _admin_token(run.where), results["payouts"], AUDIT_WAIT_S, run.say
        )
        verdicts.append(
            {"group": "money"}
            | run_summary.verdict(
                "payouts final exactly once", float(len(audit.problems)), "==", 0.0, "problems"
            )
        )
        notes.append(audit.line())
        verdicts.append(_money_audit(run, results, notes))
    started = results["started_at"]
    lines = _warnings(results, sampler.shares(started, started + results["seconds"]))
    if run.profile.judge_each_stage:
        lines += _stress_lines(run, results, sampler)
    server_p95 = {g: f.p95_ms for g, f in server.items()}
    run.say("")
    run.say(verdict.figures_table(latencies, results["seconds"], server_p95))
    run.say("")
    run.say(verdict.gates_table(verdicts))
    run.say("")
    for line in notes + lines + verdict.problem_lines(verdicts):
        run.say(line)
    artefacts = _write(run, results, verdicts, latencies, server, errors)
    if run.record_baseline:
        recorded = gates.Baseline.of(
            run.profile.name, run.where.label, run.scale, bool(results["read_only"]), latencies
        ).write(run.baseline_file)
        artefacts["baseline"] = str(recorded)
        run.say(f"baseline recorded: {recorded}")
    outcome = verdict.overall(verdicts)
    run.say(
        f"verdict: {outcome.upper()} ({sum(v['outcome'] == 'fail' for v in verdicts)} of "
        f"{len(verdicts)} gates failed); "
        f"out: {run.out}"
    )
    return 0 if outcome == "pass" else 1


def _admin_token(where: Where) -> str:
    if where.jwt_secret:
        return mint_token(where.jwt_secret, "load-audit", ("admin",))
    return where.token or ""


def _write(
    run: Run,
    results: dict[str, Any],
    verdicts: list[verdict.Verdict],
    latencies: ByGroup,
    server: dict[str, server_side.ServerFigures],
    errors: dict[str, str],
) -> dict[str, str]:
    junit = verdict.junit(verdicts, f"load {run.profile.name}", run.out / "junit.xml")
    artefacts = {
        "junit": str(junit),
        "locust_csv": str(run.out / "locust_stats.csv"),
        "locust_html": str(run.out / "locust.html"),
        "locust_log": str(run.out / "locust.log"),
        "results": str(run.out / "results.json"),
    }
    measured: dict[str, dict[str, float]] = {}
    for group, entry in latencies.items():
        figures = {
            "requests": float(entry.total),
            "p50_ms": entry.percentile(0.5),
            "p95_ms": entry.percentile(0.95),
            "p99_ms": entry.percentile(0.99),
            "error_ratio": entry.error_ratio(),
            "req_per_s": entry.total / results["seconds"] if results["seconds"] else None,
        }
        if group in server:
            figures |= {
                "server_p95_ms": server[group].p95_ms,
                "server_error_ratio": server[group].error_ratio,
            }
        measured[group] = {k: float(v) for k, v in figures.items() if v is not None}
    document = verdict.summary(results, run.where.label, verdicts, measured, artefacts, errors)
    run_summary.write(document, run.out / "summary.json")
    artefacts["summary"] = str(run.out / "summary.json")
    return artefacts


def plan(profile_name: str, scale: float, duration: float | None) -> Profile:
    """The profile to run; LoadError (exit 2) naming what to fix."""
    try:
        return get(profile_name, scale, duration)
    except ProfileError as error:
        raise LoadError(str(error)) from None
