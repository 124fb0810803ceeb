"""The day's verdict and its resilience score.

The score follows Litmus's resilience score: each fault carries a weight from 1 to 10 (7-10 for the
high-priority ones) and earns weight x probe success percentage; the score is the sum of those over
the sum of the weights (https://litmuschaos.io/blog/how-the-resilience-score-algorithm-works-in-litmus-1d22).
Here a check is one verdict a step was judged by, and its weight comes from what it guards: money and
RTO/RPO weigh 10, availability 8, alert detection and latency 5, the rest 3. A check earns its weight
when it passed; a failed, unmeasured (inconclusive) or crashed one earns nothing. Steps that did not
run are left out of both sums and listed as not run.

The score grades; it does not excuse. Any money finding or a missed RTO or RPO makes the day FAIL
whatever the score, and so does any failed check or crashed step; nothing failed but something left
unmeasured makes it INCONCLUSIVE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gameday.report.rundir import RunDir, Step
from harness.audit.findings import Finding

# (class, weight, what a verdict's name says when it belongs to the class); the first match wins.
CLASSES: tuple[tuple[str, int, re.Pattern[str]], ...] = (
    ("money", 10, re.compile(r"money|ledger|audit findings|paid twice|exactly once|writes lost", re.I)),
    ("rto/rpo", 10, re.compile(r"^(rto|rpo)\b", re.I)),
    (
        "availability",
        8,
        re.compile(r"error ratio|availability|steady state|ready|serving|failed|restarts", re.I),
    ),
    ("detection", 5, re.compile(r"fired|received|resolved", re.I)),
    ("latency", 5, re.compile(r"p9\d|p50|latency|throughput", re.I)),
)
OTHER = ("other", 3)
# A step whose day.json entry carries no verdict of its own: judged by its phase.
PHASE_CLASS = {"audit": ("money", 10), "drills": ("rto/rpo", 10), "chaos": ("availability", 8)}


@dataclass(frozen=True)
class Check:
    step: Step
    name: str
    kind: str
    weight: int
    outcome: str  # pass, fail, inconclusive
    detail: str = ""

    @property
    def earned(self) -> int:
        return self.weight if self.outcome == "pass" else 0


@dataclass
class Judgement:
    checks: list[Check]
    not_run: list[Step]
    verdict: str  # pass, fail, inconclusive
    reasons: list[str] = field(default_factory=list)  # why it is not a pass, worst first

    @property
    def weight_total(self) -> int:
        return sum(c.weight for c in self.checks)

    @property
    def earned_total(self) -> int:
        return sum(c.earned for c in self.checks)

    @property
    def score(self) -> float:
        """Percent: sum(weight x passed) / sum(weight); 0 when nothing was judged."""
        return round(100.0 * self.earned_total / self.weight_total, 1) if self.weight_total else 0.0

    def formula(self) -> str:
        """The arithmetic, with the weight earned of the weight at stake per kind of check."""
        kinds: dict[str, tuple[int, int]] = {}
        for check in sorted(self.checks, key=lambda c: -c.weight):
            earned, total = kinds.get(check.kind, (0, 0))
            kinds[check.kind] = (earned + check.earned, total + check.weight)
        by_kind = ", ".join(f"{kind} {earned}/{total}" for kind, (earned, total) in kinds.items())
        return (
            f"score = sum(weight x passed) / sum(weight) = {self.earned_total} / {self.weight_total} "
            f"= {self.score:.1f}%" + (f" (by kind: {by_kind})" if by_kind else "")
        )


def headline(judgement: Judgement) -> str:
    """The verdict in one plain sentence, the worst news first."""
    failed = [c for c in judgement.checks if c.outcome == "fail"]
    unmeasured = sum(c.outcome == "inconclusive" for c in judgement.checks)
    if any(r.startswith("money: ") for r in judgement.reasons):
        said = "Money moved wrongly: the day fails whatever the score."
    elif any(c.kind == "rto/rpo" for c in failed):
        said = "A recovery target (RTO or RPO) was missed: the day fails whatever the score."
    elif failed:
        said = f"{len(failed)} of {len(judgement.checks)} checks failed."
    elif unmeasured:
        said = f"Nothing failed, but {unmeasured} of {len(judgement.checks)} checks could not be measured."
    else:
        said = f"All {len(judgement.checks)} checks held." if judgement.checks else "Nothing was judged."
    skipped = len(judgement.not_run)
    return said + (f" {skipped} step{'s' * (skipped != 1)} did not run." if skipped else "")


def classify(name: str, phase: str) -> tuple[str, int]:
    if phase == "audit":  # everything the money audit judges is about money
        return PHASE_CLASS["audit"]
    return next(((kind, weight) for kind, weight, pattern in CLASSES if pattern.search(name)), OTHER)


def checks_of(step: Step) -> list[Check]:
    found = []
    for where, v in step.judged():
        kind, weight = classify(v["name"], step.phase)
        measured = "not measured" if v["measured"] is None else f"{v['measured']:g}"
        figure = f"{measured} {v.get('unit', '')}".strip()
        detail = f"{figure}, threshold {v['comparison']} {v['threshold']:g}"
        name = f"{where}: {v['name']}" if where else v["name"]
        found.append(Check(step, name, kind, weight, v["outcome"], detail))
    errors = step.errors()
    if errors or not found:
        kind, weight = PHASE_CLASS.get(step.phase, OTHER)
        detail = "; ".join(errors)[:500]
        found.append(Check(step, "ran to the end", kind, weight, "fail" if errors else "pass", detail))
    return found


def money_findings(step: Step) -> list[str]:
    """What the money audit (or a money check anywhere) found wrong."""
    failed = [
        f"{step.phase}/{step.name}: {c.name} ({c.detail})"
        for c in checks_of(step)
        if c.kind == "money" and c.outcome == "fail"
    ]
    return failed + [finding_line(f) for f in step.findings]


def finding_line(finding: dict[str, Any]) -> str:
    """One audit finding (as `tronops audit --format json` writes it) as `tronops audit` prints it."""
    return Finding(
        finding["kind"],
        finding.get("message", ""),
        finding.get("operation_id"),
        tuple(finding.get("tx_ids") or ()),
    ).line()


def judge(run: RunDir) -> Judgement:
    ran = [s for s in run.steps if not s.not_run]
    checks = [c for s in ran for c in checks_of(s)]
    money = [line for s in ran for line in money_findings(s)]
    recovery = [c for c in checks if c.kind == "rto/rpo" and c.outcome == "fail"]
    failed = [c for c in checks if c.outcome == "fail" and c.kind not in ("money", "rto/rpo")]
    unmeasured = [c for c in checks if c.outcome == "inconclusive"]
    reasons = [f"money: {line}" for line in money]
    reasons += [f"recovery target missed: {c.step.name}: {c.name} ({c.detail})" for c in recovery]
    reasons += [f"{c.step.phase}/{c.step.name}: {c.name} ({c.detail})" for c in failed]
    if reasons:
        verdict = "fail"
    else:
        verdict = "inconclusive" if unmeasured or not checks else "pass"
        reasons += [f"not measured: {c.step.phase}/{c.step.name}: {c.name}" for c in unmeasured]
        reasons += ["nothing was judged: no step ran"] * (not checks)
    return Judgement(checks, [s for s in run.steps if s.not_run], verdict, reasons)
