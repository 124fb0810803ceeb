"""Chaos Toolkit probes (python provider, module `chaos.probes`). The steady-state ones answer a
boolean (tolerance `true`) and record what they measured in the run's session; the judging ones
record each expectation as a verdict with its reason, which the steady state's `expectations_held`
then reads (before the method none is recorded, so it holds; after, every one must have)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx
from chaoslib.types import Configuration, Secrets

from chaos import guard, money, session
from chaos.observe import slo_breaches, slo_state
from chaos.settings import pod_control, settings
from harness import objectives
from harness.clients.api import Api
from harness.clients.prometheus import Prometheus
from harness.summary import verdict
from harness.target import LocalTarget
from harness.traffic import READS, Loops
from harness.waiting import WaitTimeout, wait_for


def slo_holds(settle_s: float = 0.0, configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Every route group within the SLO file's error budget and p95 threshold over the target's window
    (groups without requests in it are not judged), waiting up to `settle_s` for it to hold."""
    run = settings(configuration, secrets)
    state = session.current(run)
    prometheus = Prometheus(run.target.prometheus_url)
    when = "after" if state.phase != "starting" else "before"
    started = time.monotonic()
    last: list[str] = []

    def holds() -> bool:
        nonlocal last
        states = slo_state(prometheus, run.window)
        last = slo_breaches(states)
        for group_state in states:
            if group_state.error_ratio is not None:
                state.measured[f"{when}_{group_state.group}_error_ratio"] = group_state.error_ratio
            if group_state.p95_s is not None:
                state.measured[f"{when}_{group_state.group}_p95_seconds"] = group_state.p95_s
        return not last

    try:
        wait_for(holds, float(settle_s) or 0.01, "the SLOs to hold", interval=1.0)
    except WaitTimeout:
        state.findings += [f"steady state {when}: {line}" for line in last]
        return False
    state.measured[f"{when}_steady_state_seconds"] = time.monotonic() - started
    return True


def expectations_held(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Every expectation the method judged so far held (none judged yet: holds)."""
    state = session.current(settings(configuration, secrets))
    return all(expectation.held for expectation in state.expectations)


def target_clean(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """No mesh fault, no devnet fault, every pod ready (guard.clean says what is not)."""
    run = settings(configuration, secrets)
    problems = guard.problems(run)
    session.current(run).findings += [f"target not clean: {p}" for p in problems]
    return not problems


def payouts_exactly_once(
    min_replays: int = 1,
    timeout_s: float = 60.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Judge the payers' money once their traffic stopped: retries reached the service again (replays
    counted, at least `min_replays`), each key named one payout, every accepted payout final within
    `timeout_s`, and the service's ledger agrees with the chain over the experiment's window."""
    run = settings(configuration, secrets)
    state = session.current(run)
    payers = state.payers
    if payers is None:
        state.expect(verdict("payers ran", None, ">=", 1), "no payer ran: start_payers was not called")
        return {}
    state.stop_traffic()
    api = Api(run.target.base_url, run.jwt_secret)
    stack = run.target.state() if isinstance(run.target, LocalTarget) else None
    findings = money.audit(payers, api, stack, int(state.started_at * 1000), float(timeout_s))
    state.findings += findings
    figures = {"payouts_accepted": len(payers.kept), "replays": payers.replays, "answers_lost": payers.lost}
    state.measured |= figures
    state.expect(
        verdict("replays counted", payers.replays, ">=", int(min_replays)),
        f"retries with the same key reached the service again: {payers.replays} answers replayed "
        f"({payers.lost} answers lost after acceptance, {len(payers.kept)} payouts accepted)",
    )
    state.expect(
        verdict("money audit findings", len(findings), "==", 0),
        "no payout twice, none accepted and lost, the chain as the payouts say"
        + (": " + "; ".join(findings[:5]) if findings else ""),
    )
    return figures | {"findings": findings}


def alerts_judged(
    timeout_s: float = 120.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Wait (up to `timeout_s`) for each expected alert to have fired and, after the rollback,
    resolved; judge each time against its bound. Labelled with the rule profile: the local one scales
    windows down, so these are not production detection times."""
    run = settings(configuration, secrets)
    state = session.current(run)
    watch = state.alert_watch
    if watch is None:
        return {}
    with contextlib.suppress(WaitTimeout):  # a late or missing alert is judged below, not raised
        wait_for(watch.done, float(timeout_s), "the expected alerts to fire and resolve", interval=1.0)
    watch.stop()
    profile = run.rules_profile
    figures: dict[str, Any] = {}
    for t in watch.timings.values():
        firing_bound = t.bound.firing if t.bound else float(timeout_s)
        state.expect(
            verdict(f"{t.alert} fired ({profile} rules)", t.fired_s, "<=", firing_bound, "s"),
            f"{t.alert} fired {_seconds(t.fired_s)} after the fault "
            f"(bound {firing_bound:.1f} s, {profile} rules)",
        )
        if t.bound:
            state.expect(
                verdict(f"{t.alert} received ({profile} rules)", t.received_s, "<=", t.bound.receipt, "s"),
                f"{t.alert} reached the receiver {_seconds(t.received_s)} after the fault "
                f"(bound {t.bound.receipt:.1f} s)",
            )
        if t.resolve_bound_s is not None:
            state.expect(
                verdict(f"{t.alert} resolved ({profile} rules)", t.resolved_s, "<=", t.resolve_bound_s, "s"),
                f"{t.alert} resolved {_seconds(t.resolved_s)} after the rollback "
                f"(bound {t.resolve_bound_s:.1f} s)",
            )
        for key in ("fired_s", "received_s", "resolved_s", "resolved_received_s"):
            value = getattr(t, key)
            if value is not None:
                figures[f"{t.alert}_{key[:-2]}_seconds"] = value
    state.measured |= figures
    return figures | {"rules_profile": profile, "slo_window": objectives.current().slo_window}


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


FAILED = ("5", "timeout", "error")  # a server error, or no answer within the client's 30 s


def requests_all_answered(
    include_payers: bool = True, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, int]:
    """Judge the run's requests (the background reads; the payers' keyed POSTs; the creators'
    unkeyed POSTs, when started): none may have failed. Reads and keyed POSTs the mesh retries on
    another pod; an unkeyed POST only a draining pod's care protects."""
    state = session.current(settings(configuration, secrets))
    loops: list[Loops | None] = [state.readers, state.slow_readers, state.creators]
    loops += [state.payers] if include_payers else []
    sent = sum(loop.tally.count() for loop in loops if loop)
    failed = sum(loop.tally.count(*FAILED) for loop in loops if loop)
    state.measured |= {"retryable_requests": sent, "retryable_requests_failed": failed}
    state.expect(
        verdict("failed retryable requests", failed, "==", 0),
        f"{failed} of {sent} requests failed (5xx, or no answer within 30 s)"
        + (f", {state.creators.tally.count(*FAILED)} of them unkeyed POSTs" if state.creators else ""),
    )
    if sent == 0:
        state.expect(verdict("retryable requests sent", sent, ">", 0), "no retryable request was sent")
    return {"sent": sent, "failed": failed}


MESH_RETRIES = "sum(tron_mesh_upstream_retries_total)"  # the local mesh's counter; absent before any


def mesh_retries(prometheus: Prometheus) -> float:
    """The mesh's retries so far (a counter born at its first retry: `increase` would miss that one)."""
    result = prometheus.query(MESH_RETRIES)
    return float(result[0]["value"][1]) if result else 0.0


def mesh_retried(min_retries: int = 1, configuration: Configuration = None, secrets: Secrets = None) -> float:
    """Judge that the mesh moved requests: its retries grew by at least `min_retries` in this run."""
    run = settings(configuration, secrets)
    state = session.current(run)
    retries = mesh_retries(Prometheus(run.target.prometheus_url)) - state.measured.get(
        "mesh_retries_before", 0
    )
    state.measured["mesh_retries"] = retries
    state.expect(
        verdict("mesh retries", retries, ">=", int(min_retries)),
        f"the mesh retried {retries:.0f} requests on another pod (per-try timeout or a reset)",
    )
    return retries


def pods_ready_within(
    bound_s: float, since: str = "kill", configuration: Configuration = None, secrets: Secrets = None
) -> float:
    """Judge that all the target's replicas are ready again within `bound_s` of the last pod kill
    (`since: kill`) or of the fault's removal (`since: rollback`); the recovery time measured."""
    run = settings(configuration, secrets)
    state = session.current(run)
    start = state.fault_ended_at if since == "rollback" else state.killed_at
    replicas = (
        run.target.state().replicas
        if isinstance(run.target, LocalTarget)
        else objectives.current().min_replicas
    )
    pods = pod_control(run)
    killed_at = start or time.time()
    with contextlib.suppress(WaitTimeout):  # a late recovery is measured below, and fails
        wait_for(
            lambda: sum(bool(p.get("ready")) for p in pods.pods()) >= replicas,
            float(bound_s) * 3,
            f"{replicas} pods ready",
            interval=0.5,
        )
    ready = sum(bool(p.get("ready")) for p in pods.pods()) >= replicas
    recovered = time.time() - killed_at if ready else None
    if recovered is not None:
        state.measured["recovery_seconds"] = recovered
    state.expect(
        verdict("pods ready again", recovered, "<=", float(bound_s), "s"),
        f"all {replicas} pods ready again {_seconds(recovered)} after the "
        f"{'kill' if since == 'kill' else 'fault ended'} (bound {float(bound_s):g} s)",
    )
    return recovered or -1.0


def restarts(run_target: LocalTarget) -> dict[str, int]:
    """Container restarts per pod name, as the local supervisor counts them."""
    from harness.clients.pods import Pods

    return {pod["name"]: int(pod.get("restarts", 0)) for pod in Pods(run_target.state().url("pods")).pods()}


def no_pod_restarts(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Judge that no pod restarted during the run (liveness stays shallow: a sick dependency is not a
    reason to restart). Counted by the local supervisor; on Kubernetes not measured (inconclusive)."""
    run = settings(configuration, secrets)
    state = session.current(run)
    if not isinstance(run.target, LocalTarget):
        state.expect(verdict("pod restarts", None, "==", 0), "pod restarts: not measured on this target")
        return -1
    before = state.restarts_before
    now = restarts(run.target)
    grew = sum(max(0, count - before.get(name, 0)) for name, count in now.items())
    state.measured["pod_restarts"] = grew
    state.expect(verdict("pod restarts", grew, "==", 0), f"{grew} pod restarts during the run")
    return grew


def payouts_kept_flowing(
    min_accepted: int = 1, configuration: Configuration = None, secrets: Secrets = None
) -> int:
    """Judge that payments kept flowing under the fault: at least `min_accepted` payouts accepted
    since the dependency fault began (`stall_dependency` noted the count then)."""
    state = session.current(settings(configuration, secrets))
    before = int(state.measured.get("payouts_accepted_at_fault", 0))
    accepted = len(state.payers.kept) - before if state.payers else 0
    state.measured["payouts_accepted_under_fault"] = accepted
    state.expect(
        verdict("payouts accepted under the fault", accepted, ">=", int(min_accepted)),
        f"{accepted} payouts accepted while the fault was in force",
    )
    return accepted


def _well_formed(response: httpx.Response) -> bool:
    """A 5xx the service sent in its error format (API.md), or one the mesh answered itself (text/plain,
    as Envoy's local replies, e.g. `no healthy upstream` once every pod left the endpoints)."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response.headers.get("content-type", "").startswith("text/plain")
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        error = response.json()["error"]
        return bool(error.get("code")) and bool(error.get("message"))
    return False


def errors_well_formed(
    samples: int = 6, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, int]:
    """Judge what users see now, under the fault: `samples` reads across the route groups, each
    answered without a 500 and, if with a 5xx, in the error format (or the mesh's own reply); and no
    500 among every answer the run's traffic got so far (an outage is a 503, never a bug)."""
    run = settings(configuration, secrets)
    state = session.current(run)
    api = Api(run.target.base_url, run.jwt_secret)
    seen: dict[str, int] = {}
    malformed = []
    try:
        for number in range(int(samples)):
            path = READS[number % len(READS)]()
            try:
                response = api.get(path)
            except httpx.TransportError as error:
                seen[type(error).__name__] = seen.get(type(error).__name__, 0) + 1
                continue
            seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1
            if response.status_code >= 500 and (response.status_code == 500 or not _well_formed(response)):
                malformed.append(f"GET {path}: {response.status_code} {response.text[:120]!r}")
    finally:
        api.close()
    loops = (state.readers, state.slow_readers, state.payers, state.creators)
    internal = sum(loop.tally.count("500") for loop in loops if loop)
    state.measured |= {
        "sampled_5xx": sum(n for s, n in seen.items() if s.startswith("5")),
        "answers_500": internal,
    }
    state.expect(
        verdict("malformed or internal errors", len(malformed) + internal, "==", 0),
        f"answers under the fault {seen}; {internal} of the traffic's answers were 500"
        + (f"; not in the error format: {'; '.join(malformed[:3])}" if malformed else ""),
    )
    return seen
