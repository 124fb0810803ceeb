"""The whole day, in order: smoke, the load baseline, each chaos experiment under load, the drills,
the money audit; then DIR/day.json, DIR/timeline.json and the report. Progress on stderr: phase,
step, elapsed time and what comes next. Ctrl-C or SIGTERM ends the day safely: the experiment in
force plays its rollbacks (chaoslib, strategy always), the load stops, the remaining steps are
recorded as not run, the files are written, and a stack the day started is stopped."""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from gameday import plan, steps
from gameday.own_stack import DayCannotRun, Where, where
from harness import summary


@dataclass(frozen=True)
class Options:
    out: Path
    quick: bool = False
    target_file: Path | None = None
    stack_dir: Path = Path("var/stack")


@dataclass
class Progress:
    """Lines on stderr, each with the time since the day began."""

    started: float = field(default_factory=time.time)

    def say(self, text: str) -> None:
        elapsed = int(time.time() - self.started)
        stamp = f"[gameday {elapsed // 60:02d}:{elapsed % 60:02d}]"
        for line in text.splitlines() or [""]:  # a table keeps its columns, each row stamped
            print(f"{stamp} {line}", file=sys.stderr, flush=True)


def _sigterm_as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(options: Options) -> int:
    """The day's exit code: 0 every step that ran held, 1 one did not, 2 the day could not run."""
    progress = Progress()
    previous = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
    try:
        planned = plan.default_plan(options.quick)
        with where(options.target_file, options.stack_dir, options.out, progress.say) as place:
            code = _the_day(options, place, planned, progress)
    except DayCannotRun as error:
        print(f"tronops gameday: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the first step or while stopping: nothing of the day to record
        print("tronops gameday: interrupted before the day began; nothing ran", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
    from gameday.report import build_report

    progress.say("report: building it from the day's files")
    report = build_report(options.out)
    progress.say(f"report: {report.html} (verdict {report.verdict.upper()}, score {report.score:.0f} %)")
    # The report judges more than the steps' own outcomes (a money verdict anywhere, RTO/RPO): its FAIL
    # fails the day too; its "inconclusive" for steps --quick skipped does not.
    return max(code, 1 if report.verdict == "fail" else 0)


def _the_day(options: Options, place: Where, planned: list[plan.Step], progress: Progress) -> int:
    day = steps.Day(
        options.out,
        place.target_file,
        place.target,
        place.label,
        options.quick,
        progress.started,
        progress.say,
    )
    os.environ.setdefault("TRONOPS_STACK_DIR", str(options.stack_dir))  # drills and chaos read it
    recorded: dict[str, list[dict[str, Any]]] = {phase: [] for phase in plan.PHASES}
    phase_times: dict[str, list[float]] = {}
    outcomes: list[str] = []
    interrupted = False
    runnable = [s for s in planned if s.skip is None]
    progress.say(
        f"{'quick' if options.quick else 'full'} day against {place.label}: {len(runnable)} steps "
        f"({', '.join(s.label for s in runnable)}); {len(planned) - len(runnable)} not run"
    )
    done: set[str] = set()
    try:
        for step in planned:
            if step.skip:
                recorded[step.phase].append(_not_run(step, step.skip))
                done.add(step.label)
                outcomes.append(plan.NOT_RUN)
                continue
            upcoming = runnable[runnable.index(step) + 1 :]
            progress.say(
                f"{step.phase}: {step.name} (step {runnable.index(step) + 1} of {len(runnable)}); "
                f"next: {upcoming[0].label if upcoming else 'the timeline and the report'}"
            )
            began = time.time()
            phase_times.setdefault(step.phase, [began, began])
            try:
                ran = steps.run_step(day, step)
            except KeyboardInterrupt:
                interrupted = True
                ran = steps.Ran(plan.ERROR, error=plan.INTERRUPTED)
            except Exception as error:  # a crashed step is the day's finding, not the end of it
                ran = steps.Ran(plan.ERROR, error=f"{type(error).__name__}: {error}"[:2000])
            phase_times[step.phase][1] = time.time()
            recorded[step.phase].append(_step(step, ran, began, options.out))
            done.add(step.label)
            outcomes.append(ran.outcome)
            progress.say(f"{step.label}: {ran.outcome.upper()} in {time.time() - began:.0f} s")
            if interrupted:
                break
    except KeyboardInterrupt:  # between two steps
        interrupted = True
    finally:
        ended = time.time()
        if interrupted:
            progress.say("interrupted: the rest of the day is not run")
            for step in planned:
                if step.label not in done:
                    recorded[step.phase].append(_not_run(step, step.skip or plan.INTERRUPTED))
                    outcomes.append(plan.NOT_RUN)
        _write_day(options, place, recorded, phase_times, progress, ended)
    code = plan.exit_code(outcomes, interrupted)
    progress.say(
        f"day over in {ended - progress.started:.0f} s: "
        + ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes))
        + f"; exit {code}"
    )
    return code


def _not_run(step: plan.Step, why: str) -> dict[str, Any]:
    now = summary.timestamp(time.time())
    return {"name": step.name, "started_at": now, "ended_at": now, "not_run": why}


def _step(step: plan.Step, ran: steps.Ran, began: float, out: Path) -> dict[str, Any]:
    """The step as day.json has it: its artefacts relative to DIR, and one verdict, "it held"."""
    held = {plan.PASSED: 1.0, plan.FAILED: 0.0, plan.ERROR: 0.0}.get(ran.outcome)
    entry: dict[str, Any] = {
        "name": step.name,
        "started_at": summary.timestamp(began),
        "ended_at": summary.timestamp(time.time()),
        "verdicts": [summary.verdict(f"{step.label} held", held, "==", 1.0)],
    }
    if ran.measured:
        entry["measured"] = {k: float(v) for k, v in ran.measured.items()}
    artefacts = {"summary": ran.summary} if ran.summary else {}
    artefacts |= ran.artefacts
    if artefacts:
        entry["artefacts"] = {k: os.path.relpath(v, out) for k, v in artefacts.items() if Path(v).exists()}
    if ran.error:
        entry["error"] = ran.error
    if ran.not_run:  # it could not run here (no load beyond loopback): no verdict, the reason instead
        entry.pop("verdicts")
        entry["not_run"] = ran.not_run
    return entry


def _write_day(
    options: Options,
    place: Where,
    recorded: dict[str, list[dict[str, Any]]],
    phase_times: dict[str, list[float]],
    progress: Progress,
    ended: float,
) -> None:
    """day.json and timeline.json; Ctrl-C meanwhile is held off (the stack stops right after)."""
    from gameday import timeline

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        phases = [{"name": phase, "steps": recorded[phase]} for phase in plan.PHASES]
        document = {
            "kind": "gameday",
            "name": "quick" if options.quick else "full",
            "target": place.label,
            "started_at": summary.timestamp(progress.started),
            "ended_at": summary.timestamp(ended),
            "verdict": summary.overall(phases),
            "phases": phases,
        }
        summary.write(document, options.out / "day.json")
        progress.say(f"day: {options.out / 'day.json'} (verdict {document['verdict']})")
        windows = [
            {"name": phase, "started_at": summary.timestamp(a), "ended_at": summary.timestamp(b)}
            for phase, (a, b) in phase_times.items()
        ]
        line = timeline.build(options.out, place.target, windows, progress.started, ended, progress.say)
        timeline.write(line, options.out / "timeline.json")
        progress.say(
            f"timeline: {options.out / 'timeline.json'} ({len(line['series'])} series, "
            f"{len(line['faults'])} fault windows, {len(line['alerts'])} alerts)"
        )
    finally:
        signal.signal(signal.SIGINT, previous)
