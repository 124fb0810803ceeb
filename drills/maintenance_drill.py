"""Drill `maintenance`: the seed's maintenance procedure (scripts/maintenance-procedures.sh) translated
step by step onto the target, then ours, a rolling one, each under read load through the mesh with
every request counted. Locally the seed's `kubectl` calls become the pods API (stack/pods/api.py): its
`scale --replicas=0` is `POST /scale`, its `wait --for=delete` the scale's answer (given once every
pod is gone), its `wait --for=condition=ready` a wait for the ready endpoints. Ours follows the
Deployment's RollingUpdate (deploy/k8s/deployment.yaml: maxSurge 1, maxUnavailable 0): one new pod,
ready, then one old pod deleted, drained (out of the endpoints, the preStop sleep that lets the mesh
drop it, SIGTERM and the service's drain), until every old pod is replaced. On a kubernetes target
(drills/maintenance_kube.py) they are the Kubernetes API calls kubectl makes: the Deployment's scale
subresource, and `kubectl rollout restart` followed as `kubectl rollout status` follows it.

Measured: the seed's outage (RTO: from the scale-down to the first window of requests within the
latency SLO) and its failed requests, which must show (else the load could not see an outage and the
drill proves nothing); ours must fail no request. Time scale: the stack's probes and grace periods
(x0.2 locally), so a pod starts and drains in a few seconds; the drill takes well under a minute."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from drills.canaries import Probe
from drills.context import LOCAL_RTO_SECONDS, RTO_WINDOW, DrillContext
from drills.timeline import DrillCannotRun, Timeline
from harness.clients.api import Api
from harness.clients.pods import Pods
from harness.target import KubernetesTarget, StackState
from harness.waiting import wait_for

READY_TIMEOUT_S = 60.0  # a new pod's startup probe allows ~12 s locally; restarts on a loaded machine
# Readers, each its own user under the service's 500 requests a minute per user for /wallets: one read
# every 150 ms each (400 a minute), ~27 a second in all, so a 1 s gap in serving fails dozens.
READERS = 4
PACE_S = 0.15
# one wallet created every 200 ms (300 a minute, under the service's 500 a minute per user for
# /wallets): POSTs, which the mesh never retries
WRITE_PACE_S = 0.2
SETTLE_S = 1.0  # load before and after each procedure, so its edges are inside the measurement


def _ready(pods: Pods, count: int, names: set[str] | None = None) -> list[dict[str, Any]]:
    """Wait until `count` pods are ready (those named, when given); the ready ones."""

    def enough() -> list[dict[str, Any]] | None:
        ready = [p for p in pods.ready() if names is None or p["name"] in names]
        return ready if len(ready) >= count else None

    found: list[dict[str, Any]] = wait_for(enough, READY_TIMEOUT_S, f"{count} ready pods")
    return found


def _within(seconds: float, measured: Callable[[], float | None]) -> float | None:
    try:
        found: float = wait_for(measured, seconds, "serving again")
    except TimeoutError:
        return None
    return found


def _failed(probes: list[Probe], since: float, until: float) -> tuple[int, int]:
    """(failed, sent) among the probes' requests sent in [since, until]."""
    window = [ok for probe in probes for sent, ok, _ in list(probe.samples) if since <= sent <= until]
    return sum(not ok for ok in window), len(window)


@dataclass(frozen=True)
class SeedSteps:
    """The seed's kubectl steps as a target carries them out; `how` says so in each step's name."""

    how: dict[str, str]  # "get", "scale", "wait-ready", "health": what stands for the kubectl call
    survey: Callable[[], str]  # kubectl get pods: a note
    scale_to_zero: Callable[[], str]  # kubectl scale --replicas=0, wait --for=delete: a note
    scale_back: Callable[[int], None]  # kubectl scale --replicas=N, wait --for=condition=ready
    health: Callable[[], tuple[str, int]]  # kubectl exec curl localhost/health: (where, status)


def _seed_procedure(timeline: Timeline, seed: SeedSteps, replicas: int) -> float:
    """The seed's steps 1-8 as the target does them; returns when serving stopped."""
    with timeline.step(f"seed 1. pre-maintenance checks (kubectl get pods -> {seed.how['get']})") as step:
        step.notes.append(seed.survey())
    with timeline.step(
        f"seed 2-3. scale to 0 and wait for delete (kubectl scale -> {seed.how['scale']})"
    ) as step:
        down_at = time.time()
        step.notes.append(seed.scale_to_zero())
    with timeline.step("seed 4. maintenance tasks") as step:
        step.notes.append("the seed's script has none ('# Add specific maintenance tasks here')")
    with timeline.step(
        f"seed 5-6. scale to {replicas} and wait for ready (kubectl wait -> {seed.how['wait-ready']})"
    ) as step:
        seed.scale_back(replicas)
        step.notes.append(f"{replicas} pods ready after {time.time() - down_at:.1f} s")
    with timeline.step(
        f"seed 8. health check (kubectl exec curl localhost/health -> {seed.how['health']})"
    ) as step:
        where, status = seed.health()
        step.notes.append(f"{where}: {status}")
        step.check("health after the seed's procedure", float(status == 200), "==", 1.0)
    return down_at


def _local_seed(pods: Pods) -> SeedSteps:
    def scale_to_zero() -> str:
        return f"{len(pods.scale(0))} pods left; the pods API answers once every pod is gone"

    def scale_back(replicas: int) -> None:
        pods.scale(replicas)
        _ready(pods, replicas)

    def health() -> tuple[str, int]:
        pod = pods.ready()[0]
        return pod["name"], httpx.get(f"{pod['url']}/health", timeout=10).status_code

    return SeedSteps(
        {"get": "GET /pods", "scale": "POST /scale", "wait-ready": "endpoints", "health": "a pod's /health"},
        lambda: f"{len(pods.pods())} pods, {len(pods.ready())} ready",
        scale_to_zero,
        scale_back,
        health,
    )


def _rolling(timeline: Timeline, pods: Pods, replicas: int) -> None:
    """RollingUpdate with maxSurge 1, maxUnavailable 0, as the Deployment asks of Kubernetes."""
    old = [p["name"] for p in pods.pods()]
    for number, name in enumerate(old, 1):
        with timeline.step(
            f"rolling {number}/{len(old)}: surge one pod, then drain and delete {name}"
        ) as step:
            before = {p["name"] for p in pods.pods()}
            after = pods.scale(replicas + 1)
            new = {p["name"] for p in after} - before
            _ready(pods, 1, new)
            proof = pods.delete(name)
            step.notes.append(
                f"new {', '.join(sorted(new))} ready; {name} drained and gone in {proof['waited_seconds']} s"
                + (" (SIGKILL at the end of its grace period)" if proof["escalated_to_sigkill"] else "")
            )
            step.check(f"{name} gone", float(bool(proof["gone"])), "==", 1.0)
    _ready(pods, replicas)


@dataclass(frozen=True)
class Workload:
    """The service on its target: where its traffic goes, and the two procedures as that target does them."""

    base_url: str
    replicas: int
    described: str  # how the seed's kubectl is carried out here, for the first step's note
    seed: SeedSteps
    rolling: Callable[[Timeline, int], None]
    # Put the replicas back when a procedure broke half-way (a scale to 0 is a fault: always undone);
    # what it did, or None when they were as found.
    put_back: Callable[[int], str | None]


def _local(ctx: DrillContext) -> Workload:
    try:
        state = StackState.read(ctx.stack_dir)
        pods = Pods(state.url("pods"), timeout=READY_TIMEOUT_S)
        replicas = len(pods.pods())
    except (OSError, ValueError, KeyError) as error:
        raise DrillCannotRun(f"no local stack with pods ({error}); `tronops up --detach`") from error
    return Workload(
        state.service_url,
        replicas,
        f"the seed's kubectl becomes the local pods API ({state.url('pods')})",
        _local_seed(pods),
        lambda timeline, count: _rolling(timeline, pods, count),
        lambda count: None if len(pods.pods()) == count else f"{len(pods.scale(count))} pods again",
    )


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    with timeline.step("the service, its pods and the load") as step:
        if isinstance(ctx.target, KubernetesTarget):
            from drills.maintenance_kube import workload

            service = workload(ctx, ctx.target)
        else:
            service = _local(ctx)
        replicas = service.replicas
        if replicas < 2:
            raise DrillCannotRun(f"{replicas} pod(s): a rolling procedure needs at least 2")
        users = [
            Api(service.base_url, ctx.secret(), f"drill-{uuid.uuid4().hex[:8]}") for _ in range(READERS + 1)
        ]
        writer = users[-1]
        reads = [
            Probe(user, f"/api/v1/wallets/{user.wallet('TRX', 'maintenance drill reads')['wallet_id']}",
                  pace_s=PACE_S, limit_s=240.0)
            for user in users[:READERS]
        ]  # fmt: skip
        step.notes.append(
            f"{replicas} pods; {service.described}; "
            f"through the mesh, {READERS} readers each every {PACE_S * 1000:.0f} ms and a wallet created "
            f"every {WRITE_PACE_S * 1000:.0f} ms (a POST: the mesh retries reads only; writes show any gap)"
        )
    writes = Probe(writer, pace_s=WRITE_PACE_S, limit_s=240.0, writes=True)
    probes = [*reads, writes]
    latency = ctx.latency_slo_seconds()
    for probe in probes:
        probe.start()
    try:
        time.sleep(SETTLE_S)
        seed_from = time.time()
        down_at = _seed_procedure(timeline, service.seed, replicas)
        with timeline.step("the seed's procedure: its outage") as step:
            # serving again: RTO_WINDOW reads in a row within the latency SLO, given the RTO to come
            served = _within(LOCAL_RTO_SECONDS, lambda: reads[0].recovered_at(RTO_WINDOW, latency, down_at))
            rto = None if served is None else served - down_at
            seed_to = time.time()
            failed, sent = _failed(probes, seed_from, seed_to)
            step.measured |= {"seed_failed_requests": failed, "seed_requests": sent}
            step.measured["seed_outage_seconds"] = -1 if rto is None else round(rto, 2)
            step.notes.append(
                f"{failed} of {sent} requests failed; "
                + ("not serving again" if rto is None else f"serving again after {rto:.1f} s")
            )
            step.check("seed's procedure: failed requests (the outage it causes shows)", failed, ">=", 1)
            step.check("RTO", rto, "<=", LOCAL_RTO_SECONDS, "s")
        ours_from = time.time()
        service.rolling(timeline, replicas)
        time.sleep(SETTLE_S)
        with timeline.step("ours, rolling and drained: failed requests") as step:
            failed_ours, sent_ours = _failed(probes, ours_from, time.time())
            step.measured |= {"rolling_failed_requests": failed_ours, "rolling_requests": sent_ours}
            step.notes.append(f"{failed_ours} of {sent_ours} requests failed")
            step.check("rolling procedure: failed requests", failed_ours, "==", 0)
    finally:
        for probe in probes:
            probe.stop()
        if undone := service.put_back(replicas):
            ctx.say(f"[maintenance] put back as found: {undone}")
    return {"rto": (rto, LOCAL_RTO_SECONDS), "lost": 0, "failed_seed": failed, "failed_rolling": failed_ours}
