"""Chaos Toolkit actions (python provider, module `chaos.actions`): each takes `configuration` and
`secrets`, acts on the target they name (chaos.settings), proves it acted, and raises ActivityFailed
with what went wrong. Faults stay in force until `remove_faults` (a rollback, which always runs) or
their time to live."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaos import istio, session
from chaos.observe import LOCAL_RULES, PRODUCTION_RULES, AlertWatch, timings_for, wait_until_quiet
from chaos.settings import Settings, local, pod_control, settings
from harness import faults
from harness.alert_timing import Intervals
from harness.clients.alertsink import AlertSink
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.clients.http import ControlError
from harness.clients.mesh import MeshAdmin
from harness.clients.pods import Pods
from harness.clients.prometheus import Prometheus
from harness.target import KubernetesTarget
from harness.traffic import NODE_READS, Creators, Payers, Readers
from harness.waiting import WaitTimeout, wait_for

WALLET_FUNDS_SUN = 300_000_000  # 300 TRX: 250 payouts of 0.1 TRX, each with a 1 TRX memo fee (mainnet)


def _fault_contexts(run: Settings, fault_by_route: dict[str, dict[str, Any]]) -> Any:
    target = run.target
    if isinstance(target, KubernetesTarget):
        return istio.route_faults(
            run.kube_secrets, target.namespace, target.virtual_service, fault_by_route, run.fault_ttl_s
        )
    return faults.mesh_route_faults(
        MeshAdmin(local(run).state().admin_url("mesh")), fault_by_route, run.fault_ttl_s
    )


def _in_force(state: session.Session, name: str, fault: Any) -> faults.Proof:
    """Put `fault` (a harness fault context) in force for the rest of the run, under `name`; the
    rollbacks' `remove_faults` undoes it. ActivityFailed when it did not act."""
    try:
        proof: faults.Proof = state.faults.enter_context(fault)
    except (faults.FaultError, ControlError) as error:
        raise ActivityFailed(f"{name}: {error}") from None
    state.active_faults.append(name)
    state.proofs.append({"fault": name, **proof.evidence})
    state.progress("method", name)
    return proof


def _alert_watch(run: Settings, alerts: list[str]) -> Callable[[float], AlertWatch] | None:
    """What watches `alerts` once the fault starts; their rules and bounds are read first, so an
    unknown alert stops the action before any fault is applied."""
    if not alerts:
        return None
    target = run.target
    prometheus = Prometheus(target.prometheus_url)
    if isinstance(target, KubernetesTarget):
        timings = timings_for(alerts, PRODUCTION_RULES, None, 0.0)
        wait_until_quiet(prometheus, None, timings)
        return lambda fault_at: AlertWatch(prometheus, None, timings, fault_at).start()
    state = local(run).state()
    intervals = Intervals.live(state.url("prometheus"), state.url("alertmanager"))
    timings = timings_for(alerts, LOCAL_RULES, intervals, 0.0)
    sink = AlertSink(state.url("alertsink"))
    wait_until_quiet(prometheus, sink, timings)
    return lambda fault_at: AlertWatch(prometheus, sink, timings, fault_at).start()


def abort_routes(
    routes: list[str],
    percentage: float = 100.0,
    http_status: int = 503,
    expect_alerts: list[str] | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """An Istio abort (`http_status` for `percentage` % of requests) on each named route of the
    VirtualService: the local mesh's admin API, or the cluster's VirtualService. The mesh answers
    itself: an aborted request never reaches the service (as in Envoy). Watches `expect_alerts`."""
    run = settings(configuration, secrets)
    state = session.current(run)
    fault = {"abort": {"httpStatus": int(http_status), "percentage": {"value": float(percentage)}}}
    name = f"abort {http_status} on {percentage:g} % of {', '.join(routes)}"
    try:
        watch = _alert_watch(run, list(expect_alerts or []))
    except (ValueError, ControlError) as error:
        raise ActivityFailed(f"{name}: cannot watch the expected alerts: {error}") from None
    proof = _in_force(state, name, _fault_contexts(run, {route: fault for route in routes}))
    state.alert_watch = watch(proof.started_at) if watch else None
    return {"fault": name, "started_at": proof.started_at, "evidence": proof.evidence}


def hold(seconds: float, configuration: Configuration = None, secrets: Secrets = None) -> float:
    """Keep the faults in force for `seconds`, saying what is in force and the time left; a Ctrl-C or
    SIGTERM here ends the method, and the rollbacks run."""
    state = session.current(settings(configuration, secrets))
    end = time.monotonic() + float(seconds)
    while (left := end - time.monotonic()) > 0:
        state.progress("method", "; ".join(state.active_faults) or None, left)
        time.sleep(min(5.0, left))
    return float(seconds)


def remove_faults(configuration: Configuration = None, secrets: Secrets = None) -> list[str]:
    """Undo every fault this run put in force, each proving its undo; what was removed. Safe to call
    again (the rollbacks do)."""
    state = session.current(settings(configuration, secrets))
    removed = list(state.active_faults)
    try:
        state.remove_faults()
    except (faults.FaultError, ControlError) as error:
        raise ActivityFailed(f"removing faults {removed}: {error}") from None
    if removed:
        state.fault_ended_at = time.time()
    if state.alert_watch and state.alert_watch.rollback_at is None:
        state.alert_watch.rolled_back()
    state.progress("rolled back" if removed else state.phase)
    return removed


def payer_wallets(run: Settings, count: int) -> list[dict[str, Any]]:
    """`count` TRX wallets to pay out from, each holding WALLET_FUNDS_SUN: on the local stack new ones,
    created through the contract and funded by the devnet's faucet; on a cluster the target's
    `payer_wallets` (its node has no faucet the harness may use), each checked through the contract.
    ActivityFailed says what to set when neither is possible."""
    target = run.target
    if isinstance(target, KubernetesTarget):
        if len(target.payer_wallets) < count:
            raise ActivityFailed(
                f"payers need {count} pre-funded TRX wallets on this cluster and the target lists "
                f"{len(target.payer_wallets)}: add payer_wallets: [{{user_id: ..., wallet_id: ...}}] to the "
                f"target file, each wallet holding at least {WALLET_FUNDS_SUN // 1_000_000} TRX"
            )
        return [_funded(target.base_url, run.jwt_secret, dict(w)) for w in target.payer_wallets[:count]]
    stack = local(run).state()
    devnet, api = Devnet(stack.url("devnet")), Api(stack.service_url, run.jwt_secret)
    wallets = [api.wallet("TRX", "chaos payer") for _ in range(count)]
    for wallet in wallets:
        devnet.fund(wallet["address"], WALLET_FUNDS_SUN)
    return wallets


def _funded(base_url: str, jwt_secret: str, wallet: dict[str, Any]) -> dict[str, Any]:
    """`wallet` ({user_id, wallet_id}) as its owner sees it through the contract, if it holds enough."""
    path = f"/api/v1/wallets/{wallet['wallet_id']}/balance"
    api = Api(base_url, jwt_secret, wallet["user_id"])
    try:
        response = api.get(path)
    except httpx.HTTPError as error:
        raise ActivityFailed(f"payer wallet {wallet['wallet_id']}: GET {base_url}{path}: {error}") from None
    finally:
        api.close()
    if response.status_code != 200:
        raise ActivityFailed(
            f"payer wallet {wallet['wallet_id']} of {wallet['user_id']}: GET {path} answered "
            f"{response.status_code}; fix payer_wallets in the target file"
        )
    balance_sun = int(Decimal(response.json().get("balance") or 0) * 1_000_000)
    if balance_sun < WALLET_FUNDS_SUN:
        raise ActivityFailed(
            f"payer wallet {wallet['wallet_id']} holds {balance_sun / 1e6:g} TRX; fund it to at least "
            f"{WALLET_FUNDS_SUN // 1_000_000} TRX before the run"
        )
    return wallet


def start_payers(
    payers: int = 2,
    lose_answer_share: float = 0.25,
    pace_s: float = 1.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Users paying out 0.1 TRX each `pace_s`, retrying with the same Idempotency-Key after errors
    and after answers lost on the way back (`lose_answer_share` of the accepted ones), from the
    wallets `payer_wallets` provides."""
    run = settings(configuration, secrets)
    state = session.current(run)
    wallets = payer_wallets(run, int(payers))
    state.payers = Payers(
        run.target.base_url, run.jwt_secret, wallets, float(lose_answer_share), float(pace_s)
    )
    state.traffic.append(state.payers.start())
    return {"payers": len(wallets), "wallets": [w["wallet_id"] for w in wallets]}


def stop_traffic(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Stop every traffic loop of this run; how many requests they sent."""
    state = session.current(settings(configuration, secrets))
    sent = sum(loop.tally.count() for loop in state.traffic)
    state.stop_traffic()
    return sent


def kill_pods(
    count: int = 1,
    grace_period_s: int = 0,
    allow_all_pods: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Kill `count` of the service's pods: SIGKILL with no grace (0), else SIGTERM and `grace_period_s`
    to drain, as the kubelet does; on Kubernetes through chaostoolkit-kubernetes's `terminate_pods`.
    Blast radius: at most replicas - 1 unless the experiment declares `allow_all_pods`."""
    run = settings(configuration, secrets)
    state = session.current(run)
    pods = pod_control(run)
    ready = [p["name"] for p in pods.pods() if p.get("ready")]
    limit = len(ready) if allow_all_pods else len(ready) - 1
    if int(count) > limit:
        raise ActivityFailed(
            f"kill {count} pods: over the blast radius ({limit} of {len(ready)} ready; at most replicas - 1 "
            "unless the experiment declares allow_all_pods: true)"
        )
    name = f"kill {count} pod(s), grace {grace_period_s} s"
    state.progress("method", name)
    target = run.target
    if isinstance(target, KubernetesTarget):
        from chaosk8s.pod.actions import terminate_pods  # heavy: only for a cluster

        killed = terminate_pods(
            label_selector=target.selector, qty=int(count), rand=True, grace_period=int(grace_period_s),
            ns=target.namespace, secrets=run.kube_secrets,
        )  # fmt: skip
        left = {p["name"] for p in pods.pods()}
        proofs = [{"name": pod, "deleted": pod not in left} for pod in killed]
    else:
        signal_name = "KILL" if int(grace_period_s) == 0 else "TERM"
        proofs = Pods(local(run).state().url("pods")).kill(count=int(count), signal=signal_name)
    if len(proofs) != int(count):
        raise ActivityFailed(f"{name}: {len(proofs)} killed: {proofs}")
    state.proofs.append({"fault": name, "killed": proofs})
    state.measured["pods_killed"] = state.measured.get("pods_killed", 0) + len(proofs)
    state.killed_at = time.time()
    return {"fault": name, "killed": proofs}


def stop_one_pod(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """One ready pod hung (SIGSTOP: it takes connections and answers nothing), not an Istio delay,
    which Envoy never retries: the mesh's per-try timeouts and retries must move its requests to the
    healthy pods. The local stack only: in a cluster a container's init process ignores SIGSTOP sent
    from inside it, and the harness does not reach the node."""
    run = settings(configuration, secrets)
    state = session.current(run)
    stack = local(run).state()
    pods = Pods(stack.url("pods"))
    ready = [pod["name"] for pod in pods.pods() if pod.get("ready")]
    if len(ready) < 2:
        raise ActivityFailed(f"stop one pod: {len(ready)} ready; at least 2 are needed to leave one healthy")
    # A pod an earlier fault got ejected (outlier detection, up to minutes) takes no requests, so
    # hanging it would test nothing: hang one the mesh routes to.
    ejected = MeshAdmin(stack.admin_url("mesh")).ejected()
    routed = [pod for pod in ready if pod not in ejected]
    if not routed:
        raise ActivityFailed(f"stop one pod: the mesh has ejected every ready pod {ready}; it routes to none")
    name = f"pod {routed[0]} hung (SIGSTOP)"
    proof = _in_force(state, name, faults.pod_stopped(pods, routed[0], run.fault_ttl_s))
    return {"fault": name, "started_at": proof.started_at, "evidence": proof.evidence}


DEPENDENCIES = {"redis": "Redis", "store": "the store (nx-27017)"}  # the stack's parts, by name


def stall_dependency(
    part: str, expect_alerts: list[str] | None = None, configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:  # fmt: skip
    """A dependency of the service hung: `redis` or `store` (DEPENDENCIES), its process stopped
    (SIGSTOP), as a server that takes connections and answers nothing, the harder case for the
    service's timeouts than a refused connection. Continued by `remove_faults`, or by the detached
    expiry after the fault's time to live should the runner die first. Watches `expect_alerts` from
    then on, and notes the payouts accepted so far (`payouts_kept_flowing` counts from there). The
    local stack only: a cluster's Redis and database are not the harness's to stop."""
    run = settings(configuration, secrets)
    state = session.current(run)
    if part not in DEPENDENCIES:
        raise ActivityFailed(f"stall dependency: unknown part {part!r}; known: {sorted(DEPENDENCIES)}")
    stack = local(run).state()
    name = f"{DEPENDENCIES[part]} hung (SIGSTOP)"
    try:
        watch = _alert_watch(run, list(expect_alerts or []))
    except (ValueError, ControlError) as error:
        raise ActivityFailed(f"{name}: cannot watch the expected alerts: {error}") from None
    if state.payers is not None:
        state.measured["payouts_accepted_at_fault"] = len(state.payers.kept)
    proof = _in_force(state, name, faults.stack_part_stopped(stack, part, run.fault_ttl_s))
    state.alert_watch = watch(proof.started_at) if watch else state.alert_watch
    return {"fault": name, "started_at": proof.started_at, "evidence": proof.evidence}


def hang_pods(
    count: int | None = None,
    expect_alerts: list[str] | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """`count` pods down (at most replicas - 1), or every pod (`count` omitted: declared beyond the
    blast radius by the experiment that asks). Locally the pods' processes hang (SIGSTOP, the
    supervisor's restarts of them too, as pods that stopped answering): killed ones come back within a
    second under new names, before a scrape saw them down, and leave their old series behind. Continued
    by `remove_faults`; should this process die first, the supervisor's liveness probe restarts them.
    On Kubernetes the pods are deleted (chaostoolkit-kubernetes `terminate_pods`, grace 0)."""
    run = settings(configuration, secrets)
    state = session.current(run)
    try:
        watch = _alert_watch(run, list(expect_alerts or []))
    except (ValueError, ControlError) as error:
        raise ActivityFailed(f"pods down: cannot watch the expected alerts: {error}") from None
    target = run.target
    if isinstance(target, KubernetesTarget):
        every = len(pod_control(run).pods())
        result = kill_pods(count or every, 0, count is None, configuration, secrets)
        started = state.killed_at or time.time()
    else:
        stack = local(run).state()
        pods = Pods(stack.url("pods"))
        ready = sorted(p["name"] for p in pods.pods() if p.get("ready"))
        if count is not None and int(count) > len(ready) - 1:
            raise ActivityFailed(f"hang {count} pods: over the blast radius (at most {len(ready) - 1})")
        names = None if count is None else frozenset(ready[: int(count)])
        name = "every pod hung (SIGSTOP)" if names is None else f"pods {sorted(names)} hung (SIGSTOP)"
        try:
            proof = state.faults.enter_context(
                faults.pods_stopped(pods, stack.replicas if names is None else len(names), names=names)
            )
        except (faults.FaultError, ControlError) as error:
            raise ActivityFailed(f"{name}: {error}") from None
        state.active_faults.append(name)
        result, started = {"fault": name, **proof.evidence}, proof.started_at
        state.progress("method", name)
    state.proofs.append(result)
    state.alert_watch = watch(started) if watch else state.alert_watch
    return result


def start_slow_reads(
    users: int = 9, node_latency_s: float = 2.0, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Reads that stay in flight on every pod, so that a pod killed now is killed with requests in it:
    `users` reading a never-asked USDT balance (a node call each, harness NODE_READS) back to back,
    spread round-robin over the pods, while the local devnet answers `node_latency_s` late (a fault
    in force until `remove_faults`, with the devnet's own time to live). On a cluster the node is
    TronGrid, not the harness's to slow: the reads run at its own latency."""
    run = settings(configuration, secrets)
    state = session.current(run)
    target = run.target
    if not isinstance(target, KubernetesTarget):
        devnet = Devnet(target.state().url("devnet"))
        _in_force(
            state, f"TRON node {node_latency_s:g} s late", faults.slow_node(devnet, float(node_latency_s))
        )
    state.slow_readers = Readers(target.base_url, run.jwt_secret, NODE_READS, int(users)).start()
    state.traffic.append(state.slow_readers)
    return {
        "users": int(users),
        "node_latency_s": 0.0 if isinstance(target, KubernetesTarget) else node_latency_s,
    }


def start_creators(pace_s: float = 0.5, configuration: Configuration = None, secrets: Secrets = None) -> int:
    """A user creating wallets: POSTs without a key, never retried by the mesh (harness Creators)."""
    run = settings(configuration, secrets)
    state = session.current(run)
    state.creators = Creators(run.target.base_url, run.jwt_secret, float(pace_s)).start()
    state.traffic.append(state.creators)
    return 1


def rolling_terminate(
    grace_period_s: int = 45, ready_bound_s: float = 60.0, configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """SIGTERM every pod in turn, as a rolling restart does: the next only once all replicas are ready
    again (within `ready_bound_s`). Locally through the pods API (SIGTERM, SIGKILL after the grace
    period); on Kubernetes each pod deleted with `grace_period_s` (chaostoolkit-kubernetes)."""
    run = settings(configuration, secrets)
    state = session.current(run)
    pods = pod_control(run)
    names = sorted(p["name"] for p in pods.pods())
    replicas = len(names)
    proofs = []
    for number, name in enumerate(names, 1):
        state.progress("method", f"SIGTERM pod {number} of {replicas}: {name}")
        target = run.target
        if isinstance(target, KubernetesTarget):
            from chaosk8s.pod.actions import terminate_pods

            terminate_pods(
                name_pattern=f"^{name}$",
                label_selector=target.selector,
                qty=1,
                grace_period=int(grace_period_s),
                ns=target.namespace,
                secrets=run.kube_secrets,
            )
            proofs.append({"name": name, "deleted": True})
        else:
            proofs += Pods(local(run).state().url("pods")).kill([name], signal="TERM")
        try:
            wait_for(lambda: sum(bool(p.get("ready")) for p in pods.pods()) >= replicas, float(ready_bound_s),
                     f"{replicas} pods ready after terminating {name}", interval=0.5)  # fmt: skip
        except WaitTimeout as error:
            raise ActivityFailed(f"rolling SIGTERM stopped at {name}: {error}") from None
    state.killed_at = time.time()
    state.proofs.append({"fault": "rolling SIGTERM", "terminated": proofs})
    return proofs


NODE_FAULTS: dict[str, Callable[[Devnet, float], Any]] = {
    # Each as java-tron fails (stack/devnet/README.md): the name the experiment uses -> the fault.
    "outage": lambda devnet, ttl: faults.devnet_down(devnet),
    "latency": lambda devnet, ttl: faults.slow_node(devnet, 3.0),
    "lag": lambda devnet, ttl: faults.node_fault(devnet, "lag", ttl, seconds=30),
    "refusals": lambda devnet, ttl: faults.node_fault(devnet, "refuse", ttl, code="SERVER_BUSY", share=0.5),
    "lost_answers": lambda devnet, ttl: faults.node_fault(devnet, "lose_answer", ttl, share=0.5, mode="drop"),
}


def node_faults(
    sequence: list[str],
    seconds_each: dict[str, float],
    expect_alerts: list[str] | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> list[dict[str, Any]]:
    """The TRON node fails one way after another (`sequence`, names from NODE_FAULTS), each for its
    seconds, each proven in force and removed after (the devnet keeps a time to live on each too).
    `expect_alerts` are watched from the first fault; their resolution is timed from its end. The
    local devnet only: a cluster's node is TronGrid, not ours to break."""
    run = settings(configuration, secrets)
    state = session.current(run)
    unknown = sorted(set(sequence) - set(NODE_FAULTS))
    if unknown:
        raise ActivityFailed(f"node faults: unknown {unknown}; known: {sorted(NODE_FAULTS)}")
    try:
        watch = _alert_watch(run, list(expect_alerts or []))
    except (ValueError, ControlError) as error:
        raise ActivityFailed(f"node faults: cannot watch the expected alerts: {error}") from None
    devnet = Devnet(local(run).state().url("devnet"))
    total = sum(float(seconds_each[name]) for name in sequence)
    end = time.monotonic() + total
    proofs = []
    for index, name in enumerate(sequence):
        try:
            with NODE_FAULTS[name](devnet, run.fault_ttl_s) as proof:
                proofs.append({"fault": f"node {name}", **proof.evidence})
                if index == 0 and watch:
                    state.alert_watch = watch(proof.started_at)
                until = time.monotonic() + float(seconds_each[name])
                while (left := until - time.monotonic()) > 0:
                    state.progress("method", f"TRON node {name}", end - time.monotonic())
                    time.sleep(min(5.0, left))
        except (faults.FaultError, ControlError) as error:
            raise ActivityFailed(f"node {name}: {error}") from None
        if index == 0 and state.alert_watch:
            state.alert_watch.rolled_back()
    state.proofs += proofs
    return proofs
