"""Drill `region-loss`: two regions, as the seed's Argo CD applications describe (one per cluster), each a
whole local stack (store, Redis, backup agent, pods, mesh, Prometheus, Alertmanager) on other ports, on
one shared chain: the primary starts the devnet, the secondary runs against it (StackOptions.chain_url).
Traffic runs on the primary; the primary is lost whole (every part SIGKILLed but the chain); the clients'
base URL moves to the secondary, which restores the primary's newest shipped backup and escrowed keys,
recovers the operations the chain has after it, and serves. Measured as `restore` is (drills/recovery.py):
RTO, RPO per kind, writes lost, retried keys not paid twice, the post-backup wallet spendable, the audit.

Time scale: backups every 12 s (the CronJob's */4 min x0.05), blocks every 0.5 s with 2 confirmations;
RPO is held to the database objective x0.05, RTO to the local 60 s bound."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drills.agent import read_status
from drills.canaries import Canaries, Probe
from drills.context import DrillContext
from drills.locations import ARCHIVE_SUFFIX, PREFIX, LocationError, newest, open_location
from drills.recovery import (
    Recovery,
    audit_step,
    figures,
    make_post_backup_writes,
    process_start_time,
    prove_serving,
    recover,
    sleep_until_just_before,
    wait_for_worst_point,
)
from drills.timeline import Timeline
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.target import StackState
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
        if process_start_time(part.pid) != part.start_time:
            continue  # already gone, or the pid is someone else's now: never signalled
        with contextlib.suppress(ProcessLookupError):
            os.killpg(part.pid, signal.SIGKILL)
        _wait_gone(part.pid, part.name)
        killed.append(part.name)
    return killed


def _wait_gone(pid: int, name: str) -> None:
    wait_for(lambda: process_start_time(pid) is None or None, 10, f"{name} to die")


def _move_traffic(clients: list[Api], url: str) -> None:
    """What a DNS record or a global load balancer does on Kubernetes: the name clients use now
    resolves to the secondary's ingress. Locally, each client's base URL changes."""
    for client in clients:
        client.base_url = url
        client.http.base_url = url  # type: ignore[assignment]  # httpx parses the string


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    base = ctx.stack_dir / "regions"
    try:
        with timeline.step("two regions on one shared chain") as step:
            primary = _start_region(base / "primary", chain_url=None)
            chain_url = primary.url("devnet")
            secondary = _start_region(base / "secondary", chain_url=chain_url)
            status_file = primary.run_dir / "backups" / "agent-status.json"
            agent = read_status(status_file)
            scale = float(agent["time_scale"])
            interval = float(agent["schedule"]["interval_seconds"])
            rpo_target = ctx.objectives.disaster_recovery.rpo_seconds["database"] * scale
            shipped = ctx.shipped or str(primary.run_dir / "backups")
            step.notes.append(
                f"primary {primary.service_url}, secondary {secondary.service_url}, chain {chain_url}; "
                f"backups every {interval:g} s (the CronJob's schedule x{scale:g}) shipped to {shipped}; "
                f"RPO target {rpo_target:g} s"
            )
        return _drill(ctx, timeline, primary, secondary, status_file, interval, rpo_target, shipped)
    finally:
        for region in reversed(REGIONS):  # the secondary first: the primary's stop ends the chain
            with contextlib.suppress(topology.StackError):
                topology.down(base / region)


def _drill(
    ctx: DrillContext,
    timeline: Timeline,
    primary: StackState,
    secondary: StackState,
    status_file: Path,
    interval: float,
    rpo_target: float,
    shipped: str,
) -> dict[str, Any]:
    started_at = time.time()
    api = Api(primary.service_url, ctx.secret(), f"drill-{uuid.uuid4().hex[:8]}")
    admin = Api(primary.service_url, ctx.secret(), "drill-admin")
    canaries = Canaries(api, admin).start()
    probe = Probe(api)
    try:
        with timeline.step("traffic on the primary up to the worst point: just before its next backup"):
            due = wait_for_worst_point(api, probe, status_file, interval)
            writes = make_post_backup_writes(api, Devnet(primary.url("devnet")), canaries)
            sleep_until_just_before(due, interval)
        with timeline.step("fault: the primary region lost whole (the chain lives on)") as step:
            killed = _lose_region(primary)
            fault_at = time.time()
            probe.start()
            step.notes.append(f"SIGKILLed: {', '.join(killed)}")
            step.check("primary answering", float(http_ok(f"{primary.service_url}/health/ready")), "==", 0.0)
        canaries.stop()
        with timeline.step("traffic moves to the secondary") as step:
            _move_traffic([api, admin], secondary.service_url)
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
        recovery = Recovery(
            secondary.url("store"), location, archive, topology.key_escrow_dir(primary.run_dir),
            secondary.url("devnet"), secondary.usdt_contract, since=_dump_started(archive, interval),
        )  # fmt: skip
        rpo = recover(
            timeline, recovery, api=api, admin=admin, writes=writes, canaries=canaries,
            fault_at=fault_at, rpo_target=rpo_target,
        )  # fmt: skip
        prove_serving(ctx, timeline, api, probe, writes, fault_at)
        audit = audit_step(
            ctx, timeline, secondary.service_url, secondary.url("devnet"), secondary.usdt_contract, started_at
        )
    finally:
        canaries.stop()
        probe.stop()
    return figures(timeline, rpo, rpo_target, audit)


def _dump_started(archive: str, interval: float) -> float:
    """A bound on when the archive's dump began: its name's stamp (written when the dump ended) less one
    backup interval (the CronJob's deadline is shorter). Earlier is safe: transactions the backup holds
    are known by their id and skipped (drills/chain_recovery.py); later would lose operations."""
    stamped = archive.removeprefix(PREFIX).removesuffix(ARCHIVE_SUFFIX)
    return datetime.strptime(stamped, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC).timestamp() - interval
