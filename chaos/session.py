"""One experiment run's state inside the Chaos Toolkit process, shared by its activities (chaoslib
runs python providers in-process): the traffic, the faults in force (each a harness context manager,
closed by the rollbacks, which always run), the expected alerts' timings, the expectations judged,
and progress lines (phase, fault, time left) on stderr."""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from chaos.observe import AlertWatch
from chaos.settings import Settings
from harness.traffic import Creators, Loops, Payers, Readers


@dataclass
class Expectation:
    """One thing the experiment expects, judged: a harness.summary verdict plus why, in words."""

    verdict: dict[str, Any]
    why: str

    @property
    def held(self) -> bool:
        return self.verdict["outcome"] == "pass"


@dataclass
class Session:
    settings: Settings
    started_at: float = field(default_factory=time.time)
    traffic: list[Loops] = field(default_factory=list)
    readers: Readers | None = None  # the control's background reads: every one retryable
    slow_readers: Readers | None = None  # reads held open by a slow node, when an experiment starts them
    payers: Payers | None = None
    creators: Creators | None = None  # non-retryable POSTs, when an experiment starts them
    faults: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    active_faults: list[str] = field(default_factory=list)
    proofs: list[dict[str, Any]] = field(default_factory=list)
    alert_watch: AlertWatch | None = None
    expectations: list[Expectation] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)  # money audit, guard: each a line for the report
    restarts_before: dict[str, int] = field(default_factory=dict)  # pod -> restarts when the run began
    killed_at: float | None = None  # the last pod kill (unix seconds)
    fault_ended_at: float | None = None  # when remove_faults last removed one
    aborted: str | None = None  # the safeguard's reason, when it stopped the run
    phase: str = "starting"
    deadline: float | None = None

    def progress(self, phase: str, fault: str | None = None, seconds_left: float | None = None) -> None:
        self.phase = phase
        self.deadline = time.monotonic() + seconds_left if seconds_left is not None else None
        left = max(0.0, self.deadline - time.monotonic()) if self.deadline else None
        parts = [f"phase: {phase}"]
        parts += [f"fault: {fault}"] if fault else []
        parts += [f"time left: {left:.0f} s"] if left is not None else []
        print("[chaos] " + ", ".join(parts), file=sys.stderr, flush=True)

    def expect(self, verdict: dict[str, Any], why: str) -> Expectation:
        expectation = Expectation(verdict, why)
        self.expectations.append(expectation)
        mark = "held" if expectation.held else "DEVIATED"
        print(f"[chaos] expectation {mark}: {why}", file=sys.stderr, flush=True)
        return expectation

    def stop_traffic(self) -> None:
        try:
            for loop in self.traffic:
                loop.stop()
        finally:
            self.traffic.clear()

    def remove_faults(self) -> None:
        """Undo every fault still in force (each proves its undo); idempotent."""
        try:
            self.faults.close()
        finally:
            self.faults = contextlib.ExitStack()
            self.active_faults.clear()


_CURRENT: Session | None = None


def begin(settings: Settings) -> Session:
    global _CURRENT
    _CURRENT = Session(settings)
    return _CURRENT


def current(settings: Settings) -> Session:
    """This run's session (one is begun by the control; `chaos run` without it gets one on first use)."""
    return _CURRENT if _CURRENT is not None else begin(settings)


def finished() -> Session | None:
    """The session just run, forgotten here: the next experiment starts afresh."""
    global _CURRENT
    session, _CURRENT = _CURRENT, None
    return session
