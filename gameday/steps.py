"""The game day's steps, each through the harness's own runner (the same code the single commands
run): the smoke suite, the load baseline, one chaos experiment under load, one drill, the money
audit. Each writes its own files under DIR/<phase>/<step>/ and answers with a `Ran`: its summary,
its artefacts, the outcome, and what it measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from gameday.plan import ERROR, FAILED, INCONCLUSIVE, LOAD_PROFILE, NOT_RUN, PASSED, Step, outcome_of
from harness import summary
from harness.objectives import REPO
from harness.target import LocalTarget, Target

# backup-check reads the operations files this repository ships (the CronJob and the DR runbook), not
# the seed's scripts it was written to catch: the day judges what the team runs now.
OPS_FILES = [REPO / "deploy" / "k8s" / "backup-cronjob.yaml", REPO / "docs" / "dr-runbook.md"]
AUDIT_SETTLE_S = 45.0  # the day's last payouts (the experiments settle their own) become final first
AUDIT_STUCK_AFTER_MS = 180_000  # unfinished longer than this is a finding


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM reached a runner that handles it itself (chaoslib): its rollbacks ran."""


@dataclass(frozen=True)
class Day:
    """What every step gets."""

    out: Path
    target_file: Path
    target: Target
    label: str
    quick: bool
    started: float
    say: Callable[[str], None]

    def step_dir(self, step: Step) -> Path:
        path = self.out / step.phase / step.name
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Ran:
    outcome: str
    summary: Path | None = None
    artefacts: dict[str, Path] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    not_run: str | None = None


def _load_refused(day: Day) -> str | None:
    """Why the day's load cannot run on this target (load goes to loopback only), or None."""
    from chaos import under_load

    try:
        under_load.check(LOAD_PROFILE, {"target_file": str(day.target_file)})
    except under_load.LoadRefused as refused:
        return str(refused)
    return None


def run_step(day: Day, step: Step) -> Ran:
    runners: dict[str, Callable[[Day, Step], Ran]] = {
        "smoke": smoke,
        "load": load_baseline,
        "chaos": chaos_experiment,
        "drills": drill,
        "audit": money_audit,
    }
    return runners[step.phase](day, step)


def _environment(day: Day) -> dict[str, str]:
    """The local stack's signing secret for the smoke suite's tokens, unless the operator set one."""
    from stack.local import LOCAL_SECRETS

    return {**os.environ, "JWT_SECRET": os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]}


def smoke(day: Day, step: Step) -> Ran:
    """`tronops smoke` in a child process (pytest keeps to its own process), judged from its JUnit."""
    where = day.step_dir(step)
    junit, log = where / "junit.xml", where / "smoke.log"
    started = time.time()
    command = [sys.executable, "-m", "tronops.cli", "smoke", "--target", str(day.target_file)]
    with log.open("w") as output:
        code = subprocess.call(
            [*command, "--junit", str(junit)],
            stdout=output, stderr=subprocess.STDOUT, env=_environment(day), timeout=300,
        )  # fmt: skip
    if not junit.exists():
        return Ran(ERROR, error=f"the smoke suite exited {code} without results; see {log}")
    steps = _junit_steps(junit, started)
    failed = sum("error" in s for s in steps)
    document: dict[str, Any] = {
        "kind": "smoke", "name": "suite", "target": day.label,
        "started_at": summary.timestamp(started), "ended_at": summary.timestamp(time.time()),
        "verdict": "pass" if code == 0 and not failed else "fail",
        "phases": [{"name": "smoke suite", "steps": steps}],
        "artefacts": {"junit": str(junit), "log": str(log)},
    }  # fmt: skip
    path = summary.write(document, where / "summary.json")
    day.say(f"smoke: {len(steps) - failed} of {len(steps)} checks passed")
    outcome = outcome_of(document["verdict"], None, None)
    return Ran(outcome, path, {"summary": path, "junit": junit}, {"tests": len(steps), "failed": failed})


def _junit_steps(junit: Path, started: float) -> list[dict[str, Any]]:
    """One summary step per test case; a failure or error becomes the step's error."""
    steps = []
    for case in ElementTree.parse(junit).iter("testcase"):
        step: dict[str, Any] = {
            "name": f"{case.get('classname', '')}.{case.get('name', '')}".strip("."),
            "started_at": summary.timestamp(started),
            "ended_at": summary.timestamp(started + float(case.get("time") or 0)),
        }
        for tag in ("failure", "error"):
            problem = case.find(tag)
            if problem is not None:
                step["error"] = (problem.get("message") or tag)[:2000]
        if case.find("skipped") is not None:
            step["not_run"] = case.find("skipped").get("message") or "skipped"  # type: ignore[union-attr]
        steps.append(step)
    return steps


def load_baseline(day: Day, step: Step) -> Ran:
    """The load profile on the healthy target before anything breaks: the day's reference figures."""
    from loadtests import runner

    if refused := _load_refused(day):
        return Ran(NOT_RUN, not_run=refused)
    where = day.step_dir(step)
    run = runner.Run(
        profile=runner.plan(LOAD_PROFILE, 1.0, None),
        where=runner.of_target(day.target, None),
        out=where,
        say=lambda line: day.say(f"[load] {line}"),
    )
    try:
        runner.execute(run)  # its verdict is in its summary, inconclusive gates included
    except runner.LoadError as error:
        return Ran(ERROR, error=str(error))
    document = summary_of(where / "summary.json")
    requests = sum(s.get("measured", {}).get("requests", 0.0) for p in document["phases"] for s in p["steps"])
    artefacts = {
        "summary": where / "summary.json",
        "html": where / "locust.html",
        "junit": where / "junit.xml",
    }
    outcome = outcome_of(document["verdict"], None, None)
    return Ran(outcome, where / "summary.json", artefacts, {"requests": requests})


def summary_of(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def chaos_experiment(day: Day, step: Step) -> Ran:
    """The experiment with the load profile through all of it (chaos/under_load.py, as `tronops chaos
    run --load`); Interrupted when Ctrl-C or SIGTERM stopped it (its rollbacks ran)."""
    from chaos import catalog, runner, under_load

    config = {"target_file": str(day.target_file), "allow_production": "false"}
    load = None if (refused := _load_refused(day)) else LOAD_PROFILE
    if refused:
        day.say(f"  without load: {refused}")
    outcome = under_load.run_one(
        catalog.find(step.name), day.out / step.phase, config, day.label, load, day.say
    )
    for line in outcome.notes + [f"- {reason}" for reason in outcome.reasons]:
        day.say(f"  {line}")
    where = day.out / step.phase / step.name
    artefacts = {
        name: where / file
        for name, file in (
            ("summary", "summary.json"), ("journal", "journal.json"),
            ("html", "load/locust.html"), ("load_summary", "load/summary.json"),
        )
        if (where / file).exists()
    }  # fmt: skip
    if outcome.result == runner.COULD_NOT_RUN and "status interrupted" in outcome.reasons:
        raise Interrupted(step.name)
    measured = {
        key: value
        for phase in summary_of(where / "summary.json")["phases"]
        if phase["name"] == "load"
        for s in phase["steps"]
        for key, value in s.get("measured", {}).items()
    }
    result = {runner.HELD: PASSED, runner.DEVIATED: FAILED}.get(outcome.result, ERROR)
    error = "; ".join(outcome.reasons)[:2000] if result == ERROR else None
    return Ran(result, outcome.summary_path, artefacts, measured, error)


def drill(day: Day, step: Step) -> Ran:
    from drills.context import DrillContext
    from drills.runner import run, write_outputs

    where = day.step_dir(step)
    context = DrillContext(day.target, say=lambda line: day.say(f"[drill] {line}"), ops_files=OPS_FILES)
    results = run([step.name], context)
    path, junit = write_outputs(results, day.label, where)
    result = results[0]
    outcome = {"PASS": PASSED, "FAIL": FAILED, "INCONCLUSIVE": INCONCLUSIVE}.get(result.outcome, ERROR)
    measured: dict[str, float] = {}
    if result.figures.get("rto"):
        measured["rto_seconds"] = float(result.figures["rto"][0] or 0.0)
    return Ran(outcome, path, {"summary": path, "junit": junit}, measured, result.cannot_run)


def money_audit(day: Day, step: Step) -> Ran:
    """The ledger against the chain over the whole day (`tronops audit`): nothing paid twice, nothing
    accepted lost. A target without a chain to read (a cluster here) cannot be audited from here."""
    from harness.audit.chain import ChainUnreadable
    from harness.audit.ledger import LedgerUnreadable
    from harness.audit.run import audit
    from harness.tokens import mint_token

    if not isinstance(day.target, LocalTarget):
        return Ran(ERROR, error="the target names no chain: run `tronops audit --chain-url URL` against it")
    where = day.step_dir(step)
    state = day.target.state()
    token = mint_token(_environment(day)["JWT_SECRET"], "gameday-audit", ["admin"], ttl_s=3600)
    started = time.time()
    day.say(f"audit: waiting up to {AUDIT_SETTLE_S:.0f} s for the day's operations to be final")
    try:
        report = audit(
            state.service_url, token, state.url("devnet"), state.usdt_contract,
            since_ms=int(day.started * 1000), stuck_after_ms=AUDIT_STUCK_AFTER_MS, settle_s=AUDIT_SETTLE_S,
        )  # fmt: skip
    except (LedgerUnreadable, ChainUnreadable) as error:
        return Ran(ERROR, error=f"the money audit could not read a side: {error}")
    day.say(f"audit: {report.summary()}")
    now = summary.timestamp(time.time())
    measured = {
        "operations": float(report.operations), "wallets": float(report.wallets),
        "chain_transactions": float(report.chain_transactions), "findings": float(len(report.findings)),
    }  # fmt: skip
    checks: list[dict[str, Any]] = [{
        "name": "ledger equals chain", "started_at": summary.timestamp(started), "ended_at": now,
        "measured": measured,
        "verdicts": [summary.verdict("money findings", float(len(report.findings)), "==", 0.0, "findings")],
    }]  # fmt: skip
    checks += [
        {"name": f"finding: {f.kind}", "started_at": now, "ended_at": now, "error": f.line()}
        for f in report.findings
    ]
    document: dict[str, Any] = {
        "kind": "audit", "name": "money", "target": day.label,
        "started_at": summary.timestamp(started), "ended_at": now,
        "verdict": "pass" if report.clean else "fail",
        "phases": [{"name": "reconcile", "steps": checks}],
    }  # fmt: skip
    path = summary.write(document, where / "summary.json")
    return Ran(outcome_of(document["verdict"], None, None), path, {"summary": path}, measured)
