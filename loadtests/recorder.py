"""What each Locust process records for the gates, and what the master (or a lone process) makes of it.

Every process: each request's exact latency (loadtests/latency.py) by route group, failures by reason,
its users' active seconds, late iterations (coordinated omission), and the payouts the service
accepted. A worker sends what it recorded since its last report to the master (Locust's
`report_to_master`, every 3 s) and starts afresh; the master adds those into the run's totals, so the
gates read merged histograms. The master (or a lone process) also: prints progress, aborts a run
whose gate is beyond recovery after the grace period, judges each stage of a stress profile, and at
the end writes everything to the results file the `tronops load` report reads.

Imports Locust and gevent: only a Locust process loads this module.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness import objectives
from loadtests import gates, mix
from loadtests.latency import ByGroup, Latencies
from loadtests.profiles import Profile
from loadtests.settings import SAY, Settings

PROGRESS_EVERY_S = 5.0
WIRE_KEY = "tronops"


@dataclass
class Recorded:
    """What one process recorded since it last reported (or since the start, on a lone process)."""

    latencies: ByGroup = field(default_factory=ByGroup)
    user_seconds: float = 0.0
    iterations: int = 0
    late: int = 0
    payouts: list[list[str]] = field(default_factory=list)  # [payout id, idempotency key] per acceptance
    money_moves: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "latencies": self.latencies.to_wire(),
            "user_seconds": self.user_seconds,
            "iterations": self.iterations,
            "late": self.late,
            "payouts": self.payouts,
            "money_moves": self.money_moves,
        }

    def add_wire(self, wire: dict[str, Any]) -> None:
        self.latencies.merge(ByGroup.from_wire(wire["latencies"]))
        self.user_seconds += float(wire["user_seconds"])
        self.iterations += int(wire["iterations"])
        self.late += int(wire["late"])
        self.payouts += [list(pair) for pair in wire["payouts"]]
        self.money_moves += int(wire["money_moves"])


class Recorder:
    """One per Locust process; `fresh` is this process's unreported share, `run` the merged totals."""

    def __init__(self) -> None:
        self.fresh = Recorded()
        self.run = Recorded()
        self.stage = ByGroup()  # the current stage's latencies (stress: each stage is judged alone)
        self.stages: list[dict[str, Any]] = []
        self.settings = Settings.from_environment()
        self.profile: Profile | None = None
        self.baseline: gates.Baseline | None = None
        self.started = 0.0
        self.ended = 0.0
        self.aborted: str | None = None
        self.stop_stepping = False
        self.cpu_max: dict[str, float] = {}
        self.user_samples: list[tuple[float, int]] = []
        self._stage_index = 0
        self._stage_started = 0.0
        self._stage_user_seconds = 0.0

    # ---- every process ------------------------------------------------------------------------------

    def on_request(
        self,
        name: str,
        response_time: float,
        exception: BaseException | None,
        context: dict[str, Any],
        response: Any = None,
        **_: Any,
    ) -> None:
        if context.get("setup"):
            return  # the users' own test data, not the load
        group = objectives.current().route_group(name.split(" ", 1)[-1])
        entry = self.fresh.latencies.of(group)
        if exception is None:
            entry.record(response_time)
        else:
            status = getattr(response, "status_code", 0) or 0
            entry.fail(str(status) if status else type(exception).__name__)

    def iteration(self, active_seconds: float, late: bool) -> None:
        self.fresh.user_seconds += active_seconds
        self.fresh.iterations += 1
        self.fresh.late += int(late)

    def payout_accepted(self, payout_id: str, key: str) -> None:
        self.fresh.payouts.append([payout_id, key])

    def money_moved(self) -> None:
        self.fresh.money_moves += 1

    def drain(self) -> dict[str, Any]:
        wire, self.fresh = self.fresh.to_wire(), Recorded()
        return wire

    # ---- the master, or a lone process --------------------------------------------------------------

    def absorb(self, wire: dict[str, Any]) -> None:
        self.run.add_wire(wire)
        self.stage.merge(ByGroup.from_wire(wire["latencies"]))
        self._stage_user_seconds += float(wire["user_seconds"])

    def watch(self, environment: Environment) -> None:
        """Each second: take this process's own records (a lone process), note users and CPU, judge."""
        runner = environment.runner
        assert runner is not None and self.profile is not None
        last_progress = time.monotonic()
        while True:
            gevent.sleep(1.0)
            if not isinstance(runner, MasterRunner):
                self.absorb(self.drain())
            elapsed = time.time() - self.started
            self.user_samples.append((round(elapsed, 1), runner.user_count))
            self._note_cpu(runner)
            stage = self.profile.at(elapsed)
            if stage is not None and stage[0] != self._stage_index:
                self._end_stage(elapsed)
                self._stage_index = stage[0]
            if (
                self.aborted is None
                and not self.settings.keep_going
                and elapsed >= objectives.current().load_gates.abort_grace_seconds
            ):
                self._abort_if_lost(runner, elapsed)
            if time.monotonic() - last_progress >= PROGRESS_EVERY_S:
                last_progress = time.monotonic()
                print(SAY + self.progress_line(elapsed, runner.user_count), flush=True)

    def _note_cpu(self, runner: Any) -> None:
        own = "master" if isinstance(runner, MasterRunner) else "generator"
        self.cpu_max[own] = max(self.cpu_max.get(own, 0.0), float(runner.current_cpu_usage))
        for worker in getattr(runner, "clients", {}).values():
            key = f"worker {worker.id.rsplit('_', 1)[-1][:8]}"
            self.cpu_max[key] = max(self.cpu_max.get(key, 0.0), float(worker.cpu_usage))

    def _bounds(self) -> list[gates.Ceiling]:
        return gates.ceilings(sorted(mix.shares(self.settings.read_only)), self.baseline)

    def at_risk(self, latencies: ByGroup) -> list[str]:
        """Gates failing right now, as "payouts p95 312 ms > 105 ms"."""
        risky = []
        for bound in self._bounds():
            figure = gates.measure(bound, latencies.get(bound.group, Latencies()))
            if figure is not None and figure > bound.threshold:
                risky.append(
                    f"{bound.group} {bound.name} {_shown(figure, bound.unit)} "
                    f"> {_shown(bound.threshold, bound.unit)}"
                )
        return risky

    def progress_line(self, elapsed: float, users: int) -> str:
        total = sum(entry.total for entry in self.run.latencies.values())
        merged = ByGroup()
        for entry in self.run.latencies.values():
            merged.of("all").add(entry)
        p95 = merged.of("all").percentile(0.95)
        risky = self.at_risk(self.run.latencies)
        return (
            f"  {elapsed:5.0f} s  users {users:>3}  {total / max(elapsed, 1e-9):7.1f} req/s  "
            f"p95 {'-' if p95 is None else f'{p95:.0f} ms'}  "
            f"gates at risk: {', '.join(risky) if risky else 'none'}"
        )

    def _abort_if_lost(self, runner: Any, elapsed: float) -> None:
        """Only the SLO ceilings abort: they are absolute. A regression gate compares with another run,
        and the first seconds of one (cold caches, users making test data) are no fair comparison."""
        assert self.profile is not None
        remaining = max(0.0, self.profile.seconds - elapsed)
        for bound in gates.ceilings(sorted(mix.shares(self.settings.read_only))):
            entry = self.run.latencies.get(bound.group)
            if entry is not None and gates.beyond_recovery(bound, entry, elapsed, remaining):
                figure = gates.measure(bound, entry)
                self.aborted = (
                    f"{bound.group} {bound.name} {_shown(figure or 0.0, bound.unit)} is past "
                    f"{_shown(bound.threshold, bound.unit)} beyond recovery after {elapsed:.0f} s"
                )
                print(f"{SAY}ABORT: {self.aborted}: stopping the run", flush=True)
                runner.quit()
                return

    def _end_stage(self, elapsed: float) -> None:
        """Judge the stage that just ended on its own latencies; a stress run stops at the first broken."""
        assert self.profile is not None
        seconds = elapsed - self._stage_started
        stage = self.profile.stages[self._stage_index]
        offered = mix.offered(self._stage_user_seconds, self.profile.pace_seconds, self.settings.read_only)
        verdicts = gates.judge(self.stage, offered, seconds)
        broken = [f"{v['group']} {v['name']}" for v in verdicts if v["outcome"] == "fail"]
        served = sum(entry.total for entry in self.stage.values()) / max(seconds, 1e-9)
        self.stages.append(
            {
                "stage": self._stage_index,
                "users": stage.users,
                "req_per_s": round(served, 1),
                "broken": broken,
            }
        )
        self.stage, self._stage_started, self._stage_user_seconds = ByGroup(), elapsed, 0.0
        if self.profile.judge_each_stage:
            print(
                f"{SAY}  stage {self._stage_index + 1}: {stage.users} users, {served:.1f} req/s: "
                + (f"broke {', '.join(broken)}" if broken else "every gate held"),
                flush=True,
            )
            if broken:
                self.stop_stepping = True

    def results(self) -> dict[str, Any]:
        assert self.profile is not None
        return {
            "profile": self.profile.name,
            "seconds": round((self.ended or time.time()) - self.started, 3),
            "started_at": self.started,
            "ended_at": self.ended or time.time(),
            "read_only": self.settings.read_only,
            "pace_seconds": self.profile.pace_seconds,
            "aborted": self.aborted,
            "stages": self.stages,
            "cpu_max": self.cpu_max,
            "users": self.user_samples,
            **self.run.to_wire(),
        }


def _shown(figure: float, unit: str) -> str:
    return (
        f"{figure:.0f} ms" if unit == "ms" else f"{figure:.2%}" if unit == "ratio" else f"{figure:g} {unit}"
    )


RECORDER = Recorder()


@events.request.add_listener
def _on_request(**kwargs: Any) -> None:
    RECORDER.on_request(**kwargs)


@events.report_to_master.add_listener
def _report(client_id: str, data: dict[str, Any]) -> None:
    data[WIRE_KEY] = RECORDER.drain()


@events.worker_report.add_listener
def _worker_report(client_id: str, data: dict[str, Any]) -> None:
    if WIRE_KEY in data:
        RECORDER.absorb(data[WIRE_KEY])


def start(environment: Environment, profile: Profile) -> None:
    """On the master or a lone process, when the test starts: watch it."""
    if isinstance(environment.runner, WorkerRunner) or RECORDER.started:
        return
    RECORDER.profile = profile
    baseline = RECORDER.settings.baseline
    RECORDER.baseline = gates.Baseline.read(baseline) if baseline else None
    RECORDER.started = time.time()
    gevent.spawn(RECORDER.watch, environment)


def finish(environment: Environment) -> None:
    """On the master or a lone process, at quitting: take the last records and write the results."""
    if isinstance(environment.runner, WorkerRunner) or not RECORDER.started:
        return
    if not isinstance(environment.runner, MasterRunner):
        RECORDER.absorb(RECORDER.drain())
    RECORDER.ended = time.time()
    if RECORDER.settings.results:
        write_results(RECORDER.settings.results, RECORDER.results())


def write_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(results))
    os.replace(temporary, path)
