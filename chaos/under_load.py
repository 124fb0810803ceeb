"""`tronops chaos run --load PROFILE` and the game day's chaos phase: one experiment with a Locust
profile (loadtests/profiles.yaml) running through all of it. The profile's stages are stretched to
`LOAD_BOUND_S` and the load is ended when the experiment ends (rollbacks and guard included), so it
never outlives the experiment nor runs past the bound. Its own summary, Locust HTML and JUnit land
beside the experiment's (OUT/EXPERIMENT/load/), and the experiment's summary gains a `load` phase
with what the load carried (requests, rate, errors) and links to them.

The load is traffic, not the judge: the experiment's verdict stays its own (its hypothesis, the money
audit, the guard); the load's gates, broken by design while a fault is in force, are in its summary."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from chaos import runner
from harness import summary
from harness.target import Target, TargetError

LOAD_BOUND_S = 600.0  # no experiment here runs that long; the load stops there whatever happens
STOP_WAIT_S = 300.0  # the load's own report after the experiment: server cross-check and payout audit


class LoadRefused(ValueError):
    """`--load` cannot run as asked; the message says what to fix. Nothing ran."""


def target_of(config: dict[str, Any]) -> Target:
    """The target the experiment acts on, as chaos/settings.py reads it from the configuration."""
    from chaos.settings import settings

    return settings(config).target


def check(profile_name: str, config: dict[str, Any]) -> None:
    """LoadRefused before anything runs: an unknown profile, no target, or one not on loopback."""
    from chaoslib.exceptions import ActivityFailed

    from loadtests.profiles import ProfileError, get

    try:
        get(profile_name)
        target = target_of(config)
        host = urlsplit(target.base_url).hostname or ""
    except (ProfileError, ActivityFailed, TargetError) as error:
        raise LoadRefused(f"--load {profile_name}: {error}") from None
    if not _loopback(host):
        raise LoadRefused(
            f"--load {profile_name}: the target's service is at {target.base_url}, not on loopback; "
            "load from here runs against the local stack only (run the experiment without --load)"
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BackgroundLoad:
    """A load profile in a thread, from `start` until `finish` (or the bound)."""

    def __init__(self, profile_name: str, target: Target, out: Path, say: Callable[[str], None]) -> None:
        from loadtests import runner as load_runner

        where = load_runner.of_target(target, None)
        self.run = load_runner.Run(
            profile=load_runner.plan(profile_name, 1.0, LOAD_BOUND_S),
            where=where,
            out=out,
            duration=LOAD_BOUND_S,
            say=lambda line: say(f"[load] {line}"),
            keep_going=True,  # its gates break while the fault is in force: that is the experiment
        )
        self.code: int | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._execute, name="chaos-load", daemon=True)

    def _execute(self) -> None:
        from loadtests import runner as load_runner

        try:
            self.code = load_runner.execute(self.run)
        except load_runner.LoadError as error:
            self.error = str(error)
        except Exception as error:  # reported in the experiment's summary, never lost in a thread
            self.error = f"{type(error).__name__}: {error}"

    def start(self) -> BackgroundLoad:
        self._thread.start()
        return self

    def finish(self, wait_s: float = STOP_WAIT_S) -> None:
        """End the load now and wait (bounded) for its report."""
        self.run.stop.set()
        self._thread.join(wait_s)
        if self._thread.is_alive():
            self.error = f"the load's report was not done {wait_s:.0f} s after the experiment ended"

    @property
    def summary_path(self) -> Path:
        return self.run.out / "summary.json"

    def figures(self) -> dict[str, float]:
        """What the load carried, from its own summary: requests, their rate and share of errors."""
        if not self.summary_path.exists():
            return {}
        groups = [
            step.get("measured", {})
            for phase in json.loads(self.summary_path.read_text())["phases"]
            for step in phase["steps"]
        ]
        requests = sum(g.get("requests", 0.0) for g in groups)
        failed = sum(g.get("requests", 0.0) * g.get("error_ratio", 0.0) for g in groups)
        rate = sum(g.get("req_per_s", 0.0) for g in groups)
        return {
            "requests": requests,
            "req_per_s": rate,
            "error_ratio": failed / requests if requests else 0.0,
        }


def run_one(
    path: Path,
    out_dir: Path,
    config: dict[str, Any],
    target_label: str,
    load: str | None,
    say: Callable[[str], None],
) -> runner.Outcome:
    """runner.run_one, with the profile `load` (when given) running through the whole experiment."""
    if load is None:
        return runner.run_one(path, out_dir, config, target_label)
    background = BackgroundLoad(load, target_of(config), out_dir / path.stem / "load", say).start()
    started = time.time()
    try:
        outcome = runner.run_one(path, out_dir, config, target_label)
    finally:
        background.finish()
    say(f"[load] {load} ran {time.time() - started:.0f} s beside {path.stem}")
    _add_load(outcome, background, started)
    return outcome


def _add_load(outcome: runner.Outcome, background: BackgroundLoad, started: float) -> None:
    """The `load` phase in the experiment's summary, and links to the load's own files."""
    if outcome.summary_path is None:
        return
    document = json.loads(outcome.summary_path.read_text())
    step: dict[str, Any] = {
        "name": f"profile {background.run.profile.name} through the experiment",
        "started_at": summary.timestamp(started),
        "ended_at": summary.timestamp(time.time()),
        "measured": background.figures(),
    }
    if background.error:
        step["error"] = background.error
        outcome.notes.append(f"load: {background.error}")
    else:
        figures = step["measured"]
        outcome.notes.append(
            f"load: {figures.get('requests', 0):.0f} requests, {figures.get('req_per_s', 0):.1f} req/s, "
            f"{figures.get('error_ratio', 0):.2%} errors (its gates: {background.summary_path})"
        )
    document["phases"].append({"name": "load", "steps": [step]})
    out = background.run.out
    document["artefacts"] = document.get("artefacts", {}) | {
        name: str(out / file)
        for name, file in (("load_summary", "summary.json"), ("load_html", "locust.html"))
        if (out / file).exists()
    }
    summary.write(document, outcome.summary_path)
