"""`tronops chaos run`: each experiment through chaoslib's Runner with rollbacks always played
(`--rollback-strategy=always`: on deviation, failure, Ctrl-C and SIGTERM too), then its journal, a
JSON summary (harness/summary.py) and one JUnit case. An experiment *held* when its steady state held
before and after, every expectation its method judged held, the money audit and the guard found
nothing; it *deviated* otherwise; it *could not run* when an activity failed or it was interrupted."""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from chaoslib.experiment import ensure_experiment_is_valid
from chaoslib.loader import load_experiment
from chaoslib.run import Runner
from chaoslib.types import Strategy

from chaos import session
from harness import summary

HELD, DEVIATED, COULD_NOT_RUN = "held", "deviated", "could not run"
EXIT_CODES = {HELD: 0, DEVIATED: 1, COULD_NOT_RUN: 2}
ALWAYS_ROLL_BACK = {"runtime": {"rollbacks": {"strategy": "always"}}}


@dataclass
class Outcome:
    name: str
    result: str
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # every expectation, held or not, in words
    summary_path: Path | None = None
    seconds: float = 0.0


def _failed_activities(journal: dict[str, Any]) -> list[str]:
    runs = [*journal.get("run", []), *journal.get("rollbacks", [])]
    for when in ("before", "after"):
        runs += ((journal.get("steady_states") or {}).get(when) or {}).get("probes", [])
    return [f"{run['activity']['name']}: {run.get('exception', [''])[-1].strip() or run['status']}"
            for run in runs if run.get("status") == "failed"]  # fmt: skip


def _step(name: str, run: dict[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = {
        "name": name,
        "started_at": _iso(run.get("start")),
        "ended_at": _iso(run.get("end")),
    }
    if run.get("status") == "failed":
        step["error"] = (run.get("exception") or ["failed"])[-1].strip()[:2000]
    elif run.get("tolerance_met") is False:
        step["error"] = f"tolerance not met: {json.dumps(run.get('output'))[:500]}"
    return step


def _iso(text: str | None) -> str:
    if not text:
        return summary.timestamp(time.time())
    return text if text.endswith("Z") or "+" in text else text + "Z"


def _summary(name: str, target: str, journal: dict[str, Any], state: session.Session | None,
             started: float) -> dict[str, Any]:  # fmt: skip
    def phase(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"name": name, "steps": [_step(run["activity"]["name"], run) for run in runs]}

    phases: list[dict[str, Any]] = []
    for when in ("before", "after"):
        hypothesis = (journal.get("steady_states") or {}).get(when)
        if hypothesis:
            phases.append(phase(f"steady state {when}", hypothesis["probes"]))
    phases.append(phase("method", journal.get("run", [])))
    phases.append(phase("rollbacks", journal.get("rollbacks", [])))
    now = summary.timestamp(time.time())
    if state is not None:
        phases.append({"name": "expectations", "steps": [{
            "name": e.why[:300], "started_at": now, "ended_at": now, "verdicts": [e.verdict],
        } for e in state.expectations]})  # fmt: skip
        checks = [{"name": "measured", "started_at": summary.timestamp(started), "ended_at": now,
                   "measured": dict(state.measured)}]  # fmt: skip
        checks += [
            {"name": "finding", "started_at": now, "ended_at": now, "error": line} for line in state.findings
        ]
        if state.aborted:
            checks.append({"name": "safeguard", "started_at": now, "ended_at": now, "error": state.aborted})
        phases.append({"name": "money audit and guard", "steps": checks})
    return {
        "kind": "chaos",
        "name": name,
        "target": target,
        "started_at": summary.timestamp(started),
        "ended_at": now,
        "verdict": summary.overall(phases),
        "phases": phases,
    }


def run_one(path: Path, out_dir: Path, config_vars: dict[str, Any], target_label: str) -> Outcome:
    """Run one experiment file; its journal, summary and outcome."""
    name = path.stem
    started = time.time()
    experiment = load_experiment(str(path))
    ensure_experiment_is_valid(experiment)
    journal: dict[str, Any]
    with Runner(Strategy.DEFAULT) as runner:
        journal = runner.run(experiment, ALWAYS_ROLL_BACK, (config_vars, {}))
    state = session.finished()
    run_dir = out_dir / name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "journal.json").write_text(json.dumps(journal, indent=2, default=str) + "\n")
    document = _summary(name, target_label, journal, state, started)
    document["artefacts"] = {"journal": str(run_dir / "journal.json")}
    summary_path = summary.write(document, run_dir / "summary.json")
    outcome = Outcome(name, HELD, summary_path=summary_path, seconds=time.time() - started)
    failed = _failed_activities(journal)
    if journal.get("status") in ("interrupted", "aborted", "failed") or failed:
        outcome.result = COULD_NOT_RUN
        outcome.reasons += [f"status {journal.get('status')}"] * (journal.get("status") != "completed")
        outcome.reasons += [f"activity failed: {line}" for line in failed]
    if state is not None:
        outcome.notes += [f"{'held' if e.held else 'DEVIATED'}: {e.why}" for e in state.expectations]
        outcome.reasons += [f"expectation not met: {e.why}" for e in state.expectations if not e.held]
        outcome.reasons += state.findings
        outcome.reasons += [state.aborted] if state.aborted else []
    if outcome.result == HELD and (journal.get("deviated") or outcome.reasons):
        outcome.result = DEVIATED
        if journal.get("deviated"):
            outcome.reasons.insert(0, "the steady state deviated: " + _deviations(journal))
    return outcome


def _deviations(journal: dict[str, Any]) -> str:
    after = (journal.get("steady_states") or {}).get("after") or {}
    return ", ".join(
        run["activity"]["name"] for run in after.get("probes", []) if not run.get("tolerance_met")
    )


def junit(outcomes: list[Outcome], path: Path) -> Path:
    """One test case per experiment: a failure for a deviation, an error for a run that could not run."""
    suite = ElementTree.Element(
        "testsuite", name="chaos", tests=str(len(outcomes)),
        failures=str(sum(o.result == DEVIATED for o in outcomes)),
        errors=str(sum(o.result == COULD_NOT_RUN for o in outcomes)),
    )  # fmt: skip
    for outcome in outcomes:
        case = ElementTree.SubElement(suite, "testcase", classname="chaos", name=outcome.name,
                                      time=f"{outcome.seconds:.1f}")  # fmt: skip
        if outcome.result != HELD:
            tag = "failure" if outcome.result == DEVIATED else "error"
            ElementTree.SubElement(case, tag, message=outcome.result).text = "\n".join(outcome.reasons)
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)
    return path


def show_chaoslib_progress() -> None:
    """chaoslib's own lines (which activity runs) on stderr, beside ours."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[chaoslib] %(message)s"))
    logger = logging.getLogger("chaostoolkit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
