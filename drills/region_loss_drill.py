"""Drill `region-loss`: two regions, as the seed's Argo CD applications describe (one per cluster), each a
whole local stack (store, Redis, backup agent, pods, mesh, Prometheus, Alertmanager) on other ports, on
one shared chain: the primary starts the devnet, the secondary runs against it (StackOptions.chain_url).
Traffic runs on the primary; the primary is lost whole (every part SIGKILLed but the chain); the clients'
base URL moves to the secondary, which restores the primary's newest shipped backup and escrowed keys,
recovers the operations the chain has after it, and serves. Measured as `restore` is (drills/recovery.py):
RTO, RPO per kind, writes lost, retried keys not paid twice, the post-backup wallet spendable, the audit.

Time scale: backups every 12 s (the CronJob's */4 min x0.05), blocks every 0.5 s with 2 confirmations;
RPO is held to the database objective x0.05, RTO to the local 60 s bound. On a kubernetes target naming
its `secondary:` the drill runs across the two clusters (drills/region_loss_kube.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from drills import recovery as steps
from drills.agent import read_status
from drills.backup_clock import AgentClock, archive_time
from drills.context import DrillContext
from drills.locations import DirectoryLocation, LocationError, newest, open_location
from drills.timeline import Timeline
from harness.clients.devnet import Devnet
from harness.target import KubernetesTarget, StackState
from harness.waiting import wait_for
from stack import topology
from stack.processes import free_port, http_ok

REGIONS = ("primary", "secondary")
BLOCK_INTERVAL_S = 0.5
CONFIRMATIONS = 2


def _start_region(run_dir: Path, chain_url: str | None) -> StackState:
    shutil.rmtree(run_dir, ignore_errors=True)  # a region starts empty, as a fresh cluster does
    options = topology.StackOptions(
        run_dir=run_dir, port=free_port(), block_interval=BLOCK_INTERVAL_S, confirmations=CONFIRMATIONS,
        chain_url=chain_url,
    )  # fmt: skip
    topology.up(options, progress=lambda _line: None)
    wait_for(
        lambda: read_status(run_dir / "backups" / "agent-status.json")["last_success"], 30, "a first backup"
    )
    return StackState.read(run_dir)


def _lose_region(state: StackState) -> list[str]:
    """SIGKILL every part of the region but the shared chain, each with its process group (the pods'
    replicas lead their own); returns what was killed."""
    killed = []
    for part in state.parts:
        if part.name == "devnet":
            continue
        if steps.process_start_time(part.pid) != part.start_time:
            continue  # already gone, or the pid is someone else's now: never signalled
        with contextlib.suppress(ProcessLookupError):
            os.killpg(part.pid, signal.SIGKILL)
        _wait_gone(part.pid, part.name)
        killed.append(part.name)
    return killed


def _wait_gone(pid: int, name: str) -> None:
    wait_for(lambda: steps.process_start_time(pid) is None or None, 10, f"{name} to die")


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    if isinstance(ctx.target, KubernetesTarget):
        from drills.region_loss_kube import run_on_kubernetes

        return run_on_kubernetes(ctx, ctx.target, timeline)
    base = ctx.stack_dir / "regions"
    try:
        with timeline.step("two regions on one shared chain") as step:
            primary = _start_region(base / "primary", chain_url=None)
            secondary = _start_region(base / "secondary", chain_url=primary.url("devnet"))
            status_file = primary.run_dir / "backups" / "agent-status.json"
            interval, rpo_target = steps.backup_schedule(ctx, status_file, step)
            shipped = ctx.shipped or str(primary.run_dir / "backups")
            step.notes.append(
                f"primary {primary.service_url}, secondary {secondary.service_url}, chain "
                f"{primary.url('devnet')}; the primary's backups shipped to {shipped}"
            )
        with steps.traffic(ctx, primary.service_url) as clients:
            return _drill(ctx, timeline, clients, (primary, secondary), interval, rpo_target, shipped)
    finally:
        for region in reversed(REGIONS):  # the secondary first: the primary's stop ends the chain
            with contextlib.suppress(topology.StackError):
                topology.down(base / region)


def _drill(
    ctx: DrillContext,
    timeline: Timeline,
    clients: steps.Traffic,
    regions: tuple[StackState, StackState],
    interval: float,
    rpo_target: float,
    shipped: str,
) -> dict[str, Any]:
    primary, secondary = regions
    with timeline.step("traffic on the primary up to the worst point: just before its next backup"):
        due = steps.wait_for_worst_point(
            clients, AgentClock(primary.run_dir / "backups" / "agent-status.json"), interval
        )
        writes = steps.make_post_backup_writes(clients, Devnet(primary.url("devnet")))
        steps.sleep_until_just_before(due, interval)
    with timeline.step("fault: the primary region lost whole (the chain lives on)") as step:
        killed = _lose_region(primary)
        fault_at = time.time()
        clients.probe.start()
        step.notes.append(f"SIGKILLed: {', '.join(killed)}")
        step.check("primary answering", float(http_ok(f"{primary.service_url}/health/ready")), "==", 0.0)
    clients.canaries.stop()
    with timeline.step("traffic moves to the secondary") as step:
        steps.move_traffic(clients, secondary.service_url)
        step.notes.append(
            f"clients now use {secondary.service_url} (on Kubernetes: the API's DNS name or the global "
            "load balancer fails over to the secondary cluster's ingress)"
        )
    with timeline.step("the secondary finds the newest shipped backup") as step:
        try:
            location = open_location(shipped)
            archive = newest(location)
        except LocationError as error:
            raise RuntimeError(f"the secondary cannot restore the primary: {error}") from error
        step.notes.append(f"{archive} at {location.url}")
    recovery = steps.Recovery(
        secondary.url("store"), location, archive,
        DirectoryLocation(topology.key_escrow_dir(primary.run_dir)),
        secondary.url("devnet"), secondary.usdt_contract, since=_dump_started(archive, interval),
    )  # fmt: skip
    rpo = steps.recover(
        timeline, recovery, clients, writes, fault_at, rpo_target, steps.Serving(clients.admin)
    )
    steps.prove_serving(ctx, timeline, clients, writes, fault_at)
    audit = steps.audit_step(
        ctx,
        timeline,
        secondary.service_url,
        secondary.url("devnet"),
        secondary.usdt_contract,
        clients.started_at,
    )
    return steps.figures(timeline, rpo, rpo_target, audit)


def _dump_started(archive: str, interval: float) -> float:
    """A bound on when the archive's dump began: its name's stamp (written when the dump ended) less one
    backup interval (the CronJob's deadline is shorter). Earlier is safe: transactions the backup holds
    are known by their id and skipped (drills/chain_recovery.py); later would lose operations."""
    return archive_time(archive) - interval
