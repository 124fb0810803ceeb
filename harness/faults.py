"""Faults as context managers: each applies its fault, checks from outside that it acted, yields that
`Proof`, and undoes it when the block ends, also on an exception or Ctrl-C (KeyboardInterrupt), then
checks that the undo took. A fault that did not act raises `FaultNotApplied`; one that could not be
undone raises `FaultNotUndone` (after trying everything else it had to undo).

A new fault is one function here: `@contextlib.contextmanager`, apply inside `try`, check, yield a
Proof, undo in `finally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import objectives
from harness.clients.devnet import Devnet
from harness.clients.mesh import MeshAdmin
from harness.clients.pods import Pods
from harness.expiry import continue_process, expiring
from harness.target import StackState
from harness.traffic import Hammer, Loops
from harness.waiting import WaitTimeout, wait_for

NO_DEVNET_FAULT = {"down": False, "latency_ms": 0, "stalled": False}
# A devnet fault ends by itself after this even if the harness dies before its undo (the devnet keeps a
# time to live per fault; one that does not know `ttl_s` yet ignores it).
DEVNET_FAULT_TTL_S = 600.0


class FaultError(RuntimeError):
    """A fault that did not do what it claims."""


class FaultNotApplied(FaultError):
    """The fault was asked for but does not show where it should."""


class FaultNotUndone(FaultError):
    """The fault is still in force after its undo: the system needs a hand."""


@dataclass(frozen=True)
class Proof:
    """That a fault acted: what, since when (unix seconds), and what was seen."""

    fault: str
    started_at: float
    evidence: dict[str, Any] = field(default_factory=dict)


def _check_undone(done: bool, message: str) -> None:
    if not done:
        raise FaultNotUndone(message)


# ---- the mesh ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def mesh_fault(mesh: MeshAdmin, routes: Iterable[str], fault: dict[str, Any]) -> Iterator[Proof]:
    """`fault` (an Istio HTTPFaultInjection: abort and/or delay, each with a percentage) on every one of
    `routes`, as the mesh itself applies it; in force when the mesh lists it on each."""
    wanted = sorted(set(routes))
    try:
        if not wanted:
            raise FaultNotApplied("mesh fault: no route to put it on")
        active: dict[str, Any] = {}
        for route in wanted:
            active = mesh.set_fault(route, fault)
        if set(active) != set(wanted) or any(active[r] != fault for r in wanted):
            raise FaultNotApplied(f"mesh fault: asked for {fault} on {wanted}, the mesh has {active}")
        yield Proof("mesh fault", time.time(), {"active_faults": active})
    finally:
        left = mesh.reset()
        _check_undone(not left, f"mesh fault: faults still active after reset: {left}")


def mesh_aborts(
    mesh: MeshAdmin, routes: Iterable[str], http_status: int = 503
) -> contextlib.AbstractContextManager[Proof]:
    """Every one of `routes` answers `http_status` from the mesh itself (an Istio abort at 100 %)."""
    return mesh_fault(mesh, routes, {"abort": {"httpStatus": http_status, "percentage": {"value": 100}}})


def route_group_routes(mesh: MeshAdmin, group: str) -> list[str]:
    """The mesh's routes that serve a route group (its retryable and its plain route): those matching
    the group's path prefix."""
    prefix = f"{objectives.current().identity.base_path.rstrip('/')}/{group}"
    return [
        route["name"]
        for route in mesh.routes()
        if any((match.get("uri") or {}).get("prefix") == prefix for match in route.get("match") or [])
    ]


@contextlib.contextmanager
def mesh_route_faults(mesh: MeshAdmin, faults: dict[str, dict[str, Any]], ttl_s: float) -> Iterator[Proof]:
    """Each route of `faults` gets its Istio HTTPFaultInjection; in force when the mesh lists exactly
    them; each removed after (also when applying failed half-way). The mesh keeps no time to live, so a
    detached expiry (harness/expiry.py) removes each after `ttl_s` should this process die first."""
    applied: list[str] = []
    with contextlib.ExitStack() as expiries:
        try:
            for route, fault in faults.items():
                expiries.enter_context(
                    expiring(
                        ttl_s, "harness.expiry:clear_mesh_fault", {"admin_url": mesh.url, "route": route}
                    )
                )
                applied.append(route)
                mesh.set_fault(route, fault)
            active = mesh.faults()
            if any(active.get(route) != fault for route, fault in faults.items()):
                raise FaultNotApplied(f"mesh faults: asked for {faults}, the mesh has {active}")
            yield Proof("mesh_route_faults", time.time(), {"active_faults": active, "ttl_s": ttl_s})
        finally:
            left: dict[str, Any] = {}
            for route in applied:
                left = mesh.clear_fault(route)
            still = sorted(set(applied) & set(left))
            _check_undone(not still, f"mesh faults: still active on {still} after removing them")


# ---- the TRON node ----------------------------------------------------------------------------------


@contextlib.contextmanager
def devnet_fault(
    devnet: Devnet,
    control: str,
    body: dict[str, Any],
    expect: dict[str, Any],
    ttl_s: float = DEVNET_FAULT_TTL_S,
) -> Iterator[Proof]:
    """One of the devnet's fixed fault controls; in force when its answer shows `expect`."""
    try:
        answer = devnet.control(control, {**body, "ttl_s": ttl_s})
        if answer | expect != answer:
            raise FaultNotApplied(f"devnet {control}: asked for {expect}, the devnet has {answer}")
        yield Proof(f"devnet {control}", time.time(), {"faults": answer})
    finally:
        cleared = devnet.reset()
        _check_undone(cleared == NO_DEVNET_FAULT, f"devnet {control}: faults after reset: {cleared}")


def devnet_down(devnet: Devnet) -> contextlib.AbstractContextManager[Proof]:
    """The node refuses every connection-level call, as an unreachable TronGrid."""
    return devnet_fault(devnet, "down", {"down": True}, {"down": True})


def slow_node(devnet: Devnet, latency_s: float) -> contextlib.AbstractContextManager[Proof]:
    """The node answers every call `latency_s` late."""
    ms = int(latency_s * 1000)
    return devnet_fault(devnet, "latency", {"ms": ms}, {"latency_ms": ms})


@contextlib.contextmanager
def node_fault(
    devnet: Devnet, name: str, ttl_s: float = DEVNET_FAULT_TTL_S, **params: Any
) -> Iterator[Proof]:
    """Any fault the devnet names in `POST /control/faults` (refuse, internal_error, lose_answer, lag,
    revert_trc20, ...) with its parameters; in force when the devnet lists it, removed by name after."""
    try:
        listed = devnet.set_fault(name, ttl_s, **params)["faults"]
        if not any(fault["fault"] == name for fault in listed):
            raise FaultNotApplied(f"devnet {name}: set, but the devnet lists {listed}")
        yield Proof(f"devnet {name}", time.time(), {"faults": listed})
    finally:
        left = devnet.clear_fault(name)["faults"]
        _check_undone(all(fault["fault"] != name for fault in left), f"devnet {name}: still listed: {left}")


# ---- the pods ---------------------------------------------------------------------------------------


def process_state(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process from /proc/PID/stat, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[19]


class _PodFreezer(Loops):
    """Keeps every pod process stopped (SIGSTOP), the ones the supervisor restarts meanwhile too, so that
    no pod answers until stop(); thaw() continues (SIGCONT) each one still running."""

    def __init__(self, pods: Pods, names: frozenset[str] | None = None) -> None:
        super().__init__()
        self.frozen: dict[int, str] = {}  # pid -> start time: a recycled pid is never signalled
        self._pods = pods
        self._names = names  # only these pods (their restarts too); None: every pod

    def freeze_new(self) -> None:
        for pod in self._pods.pods():
            if self._names is not None and pod["name"] not in self._names:
                continue
            pid = pod.get("pid")
            if pid and pid not in self.frozen and (proc := process_state(pid)) is not None:
                self.frozen[pid] = proc[1]  # recorded first: a Ctrl-C right after the signal still thaws it
                os.kill(pid, signal.SIGSTOP)

    def _keep_frozen(self) -> None:
        for _ in range(10_000):  # bounded; a restarted pod is frozen within 0.2 s of being listed
            if not self.running():
                return
            self.freeze_new()
            self.pause(0.2)

    def start(self) -> _PodFreezer:
        self.spawn(self._keep_frozen, "pod-freezer")
        return self

    def thaw(self) -> None:
        for pid, started in self.frozen.items():
            if (proc := process_state(pid)) is not None and proc[1] == started:
                os.kill(pid, signal.SIGCONT)

    def states(self) -> dict[int, str]:
        return {pid: (process_state(pid) or ("gone",))[0] for pid in self.frozen}


@contextlib.contextmanager
def pods_stopped(
    pods: Pods, replicas: int, timeout_s: float = 5.0, names: frozenset[str] | None = None
) -> Iterator[Proof]:
    """Every pod process of the local supervisor (or only the pods `names`, `replicas` of them)
    stopped (SIGSTOP): alive, but answering nothing, as a hung container. The proof lists the stopped
    pids, each seen in state T."""
    freezer = _PodFreezer(pods, names)

    def all_stopped() -> bool:
        freezer.freeze_new()
        states = freezer.states()
        return len(states) >= replicas and all(state in ("T", "gone") for state in states.values())

    try:
        try:
            wait_for(all_stopped, timeout_s, "every pod process to be stopped")
        except WaitTimeout as error:
            raise FaultNotApplied(f"pods_stopped: {error}") from None
        freezer.start()
        yield Proof("pods_stopped", time.time(), {"stopped": freezer.states()})
    finally:
        try:
            freezer.stop()
        finally:
            freezer.thaw()
            try:
                wait_for(
                    lambda: all(state != "T" for state in freezer.states().values()),
                    timeout_s,
                    "every stopped pod process to run again",
                )
            except WaitTimeout as error:
                raise FaultNotUndone(f"pods_stopped: {error}") from None


@contextlib.contextmanager
def process_stopped(what: str, pid: int, ttl_s: float, timeout_s: float = 5.0) -> Iterator[Proof]:
    """Process `pid` (`what`, for messages) stopped (SIGSTOP): its listener still accepts connections
    (the kernel queues them) and nothing answers, a hung process. Continued (SIGCONT) after, or by a
    detached expiry after `ttl_s` should this process die first; a process that replaced it meanwhile
    (same pid, another start time) is never signalled."""
    proc = process_state(pid)
    if proc is None:
        raise FaultNotApplied(f"{what}: no running process {pid}")
    started = proc[1]
    with expiring(ttl_s, "harness.expiry:continue_process", {"pid": pid, "start_time": started}):
        try:
            os.kill(pid, signal.SIGSTOP)
            try:
                wait_for(lambda: (process_state(pid) or ("gone",))[0] == "T", timeout_s, f"{what} stopped")
            except WaitTimeout as error:
                raise FaultNotApplied(f"{what}: {error}") from None
            yield Proof(what, time.time(), {"pid": pid, "state": "T", "ttl_s": ttl_s})
        finally:
            continue_process(pid, started)
            try:
                wait_for(lambda: (process_state(pid) or ("gone",))[0] != "T", timeout_s, f"{what} running")
            except WaitTimeout as error:
                raise FaultNotUndone(f"{what}: {error}") from None


@contextlib.contextmanager
def pod_stopped(pods: Pods, name: str, ttl_s: float, timeout_s: float = 5.0) -> Iterator[Proof]:
    """One pod's process stopped: a hung or very slow upstream that the mesh must route around. A pod
    the supervisor replaced meanwhile (its liveness probe) is a new process, untouched."""
    pod = next((p for p in pods.pods() if p["name"] == name), None)
    if pod is None or not pod.get("pid"):
        raise FaultNotApplied(f"pod_stopped: no running pod {name!r}")
    with process_stopped(f"pod {name}", pod["pid"], ttl_s, timeout_s) as proof:
        yield Proof("pod_stopped", proof.started_at, {"pod": name, **proof.evidence})


def stack_part_stopped(
    state: StackState, part: str, ttl_s: float, timeout_s: float = 5.0
) -> contextlib.AbstractContextManager[Proof]:
    """A dependency of the local stack (`redis`, `store`) hung: its recorded process stopped, if it is
    still the process `tronops up` recorded (same start time)."""
    recorded = state.part(part)
    proc = process_state(recorded.pid)
    if proc is None or (recorded.start_time is not None and proc[1] != recorded.start_time):
        raise FaultNotApplied(f"{part}: the recorded process {recorded.pid} is not running; `tronops status`")
    return process_stopped(part, recorded.pid, ttl_s, timeout_s)


# ---- the service's own limits -----------------------------------------------------------------------


@contextlib.contextmanager
def over_rate_limit(base_url: str, secret: str, path: str, timeout_s: float = 30.0) -> Iterator[Proof]:
    """One user sending GET `path` far past its route group's limit; in force from the first 429."""
    hammer = Hammer(base_url, secret, path)
    try:
        hammer.start()
        try:
            wait_for(
                lambda: hammer.tally.count("429"), timeout_s, "the hammering user to be refused with 429"
            )
        except WaitTimeout as error:
            raise FaultNotApplied(f"over_rate_limit: {error}") from None
        yield Proof(
            "over_rate_limit", time.time(), {"user": hammer.user, "refused": hammer.tally.count("429")}
        )
    finally:
        hammer.stop()
