"""What a game day runs, in order: the phases and their steps, the quick day's subset, and how the
steps' outcomes make the command's exit code. Planning reads only the experiment and drill names
(chaos/catalog.py, drills/runner.py), so it is cheap and testable without a stack."""

from __future__ import annotations

from dataclasses import dataclass

PHASES = ("smoke", "load", "chaos", "drills", "audit")
QUICK = "--quick"
# The quick day (≤ 5 min on a 2-core machine): one experiment that breaks something users see and
# fires an alert (the mesh abort on payouts), and the drill that needs no outage (backup-check).
QUICK_EXPERIMENTS = ("01-mesh-abort-payouts",)
QUICK_DRILLS = ("backup-check",)
# Load: the smoke profile (a minute at light load, every journey), as it is for the baseline (shorter,
# its throughput gates judge a ramp more than a load), stretched through each experiment.
LOAD_PROFILE = "smoke"

# A step's outcome; the day's exit code follows from them (and 2 when it could not run at all).
PASSED, FAILED, INCONCLUSIVE, ERROR, NOT_RUN = "pass", "fail", "inconclusive", "error", "not run"
INTERRUPTED = "interrupted (Ctrl-C or SIGTERM): the fault in force was rolled back, nothing more ran"


@dataclass(frozen=True)
class Step:
    phase: str
    name: str
    skip: str | None = None  # why it will not run (`--quick`), or None

    @property
    def label(self) -> str:
        return f"{self.phase}/{self.name}"


def plan(quick: bool, experiments: list[str], drills: list[str]) -> list[Step]:
    """Every step of the day, in order; the quick day keeps its subset and lists the rest as skipped."""

    def chosen(name: str, subset: tuple[str, ...]) -> str | None:
        return QUICK if quick and name not in subset else None

    return [
        Step("smoke", "suite"),
        Step("load", "baseline"),
        *(Step("chaos", name, chosen(name, QUICK_EXPERIMENTS)) for name in experiments),
        *(Step("drills", name, chosen(name, QUICK_DRILLS)) for name in drills),
        Step("audit", "money"),
    ]


def default_plan(quick: bool) -> list[Step]:
    """The plan over every experiment in chaos/experiments and every drill drills/ knows."""
    from chaos import catalog
    from drills.runner import DRILLS

    return plan(quick, [entry.name for entry in catalog.entries()], list(DRILLS))


def exit_code(outcomes: list[str], interrupted: bool = False) -> int:
    """0 every step that ran held; 1 one failed, crashed or proved nothing; 2 the day was cut short.
    A step skipped by --quick is neither: the report lists it as not run."""
    if interrupted:
        return 2
    return 0 if all(o in (PASSED, NOT_RUN) for o in outcomes) else 1


def outcome_of(verdict: str | None, error: str | None, not_run: str | None) -> str:
    """A step's outcome from what it recorded: its own summary's verdict, a crash, or why it did not run."""
    if not_run:
        return NOT_RUN
    if error:
        return ERROR
    return {"pass": PASSED, "fail": FAILED}.get(verdict or "", INCONCLUSIVE)
