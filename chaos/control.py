"""The experiment control every experiment declares (`controls: [{name: tronops, provider: {type:
python, module: chaos.control}}]`): around the whole run it keeps background traffic going, during
the method it watches the error budget (the safeguard), and afterwards stops the traffic, removes
any fault still in force and proves the target clean. Chaos Toolkit calls these hooks also when the
run is interrupted."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

from chaoslib.exit import exit_gracefully
from chaoslib.types import Configuration, Experiment, Journal, Secrets

from chaos import guard, session
from chaos.observe import burn_rate
from chaos.probes import mesh_retries, restarts
from chaos.settings import settings
from harness.clients.prometheus import Prometheus
from harness.target import LocalTarget
from harness.traffic import READS, Readers

SAFEGUARD_POLL_S = 2.0


class Safeguard:
    """Stops the experiment (Chaos Toolkit's graceful exit: the rollbacks run) when the availability
    budget of the route groups the experiment does not fault burns faster than `max_burn_rate` on two
    polls in a row."""

    def __init__(self, prometheus: Prometheus, window: str, faulted: tuple[str, ...], max_burn_rate: float,
                 state: session.Session) -> None:  # fmt: skip
        self._prometheus, self._window, self._faulted = prometheus, window, faulted
        self._max, self._state = max_burn_rate, state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="safeguard", daemon=True)

    def start(self) -> Safeguard:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _watch(self) -> None:
        over = 0
        for _ in range(10_000):  # bounded, as every loop of the harness
            if self._stop.wait(SAFEGUARD_POLL_S):
                return
            try:
                rate = burn_rate(self._prometheus, self._window, self._faulted)
            except Exception:  # Prometheus unreachable for a poll: judge at the next
                continue
            over = over + 1 if rate is not None and rate > self._max else 0
            if over >= 2:
                self._state.aborted = (
                    f"safeguard: the error budget of the route groups not under fault burned at "
                    f"{rate:.1f}x, over the bound {self._max:g}x; the experiment was stopped and rolled back"
                )
                exit_gracefully()
                return


_safeguard: Safeguard | None = None
_previous_sigterm: Any = None


def _sigterm_as_ctrl_c(signum: int, frame: Any) -> None:
    """chaoslib turns SIGTERM into InterruptExecution, which a python activity's provider catches and
    reports as a failed activity, and the method goes on. As KeyboardInterrupt it ends the method
    wherever it is, and chaoslib plays the rollbacks (strategy always) as for Ctrl-C."""
    raise KeyboardInterrupt(f"signal {signum}")


def before_experiment_control(
    context: Experiment, configuration: Configuration = None, secrets: Secrets = None, **kwargs: Any
) -> None:
    global _previous_sigterm
    _previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
    run = settings(configuration, secrets)
    state = session.begin(run)
    state.progress("steady state before")
    with contextlib.suppress(Exception):  # a mesh without the counter: mesh_retried counts from 0
        state.measured["mesh_retries_before"] = mesh_retries(Prometheus(run.target.prometheus_url))
    if isinstance(run.target, LocalTarget):
        state.restarts_before = restarts(run.target)
    readers = int((configuration or {}).get("background_readers", 2))
    if readers:
        state.readers = Readers(run.target.base_url, run.jwt_secret, READS, readers).start()
        state.traffic.append(state.readers)


def before_method_control(
    context: Experiment, configuration: Configuration = None, secrets: Secrets = None, **kwargs: Any
) -> None:
    """The safeguard watches from the method on: before it, the steady state has waited for what an
    earlier run left in the windows to clear."""
    global _safeguard
    run = settings(configuration, secrets)
    state = session.current(run)
    faulted = str((configuration or {}).get("faulted_route_groups", "")).split(",")
    _safeguard = Safeguard(
        Prometheus(run.target.prometheus_url),
        run.window,
        tuple(group for group in faulted if group),
        float((configuration or {}).get("max_burn_rate", 14.4)),
        state,
    ).start()


def after_experiment_control(
    context: Experiment, state: Journal, configuration: Configuration = None, secrets: Secrets = None,
    **kwargs: Any,
) -> None:  # fmt: skip
    global _safeguard, _previous_sigterm
    if _previous_sigterm is not None:
        signal.signal(signal.SIGTERM, _previous_sigterm)
        _previous_sigterm = None
    run = settings(configuration, secrets)
    current = session.current(run)
    try:
        if _safeguard is not None:
            _safeguard.stop()
            _safeguard = None
        current.stop_traffic()
        current.remove_faults()
    finally:
        current.progress("guard")
        left = guard.sweep(run)
        current.findings += [f"guard removed a fault the rollbacks left: {line}" for line in left]
        current.findings += [f"target not clean after the run: {p}" for p in guard.problems(run)]
