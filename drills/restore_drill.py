"""Drill `restore`: the database is lost at the worst point of the backup interval (just before the next
scheduled backup); the newest scheduled backup is restored, escrowed wallets are put back, the service
serves again. Measured: RPO per canary kind, writes lost, RTO to the first window of requests within
the latency SLO, the time to the first payout broadcast again, and that funds sent to a wallet created
after the backup are still spendable.

One procedure on both targets; the target supplies where things are and how the database is lost and
recovered (a `Site`): locally the store process is killed and its files removed, the pods stay up;
on a kubernetes target (drills/restore_kube.py) the service's database is dropped and the Deployment
scaled to 0 while it is recovered, as the seed's restore procedure stops writers first."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from drills.backup_clock import AgentClock, BackupClock
from drills.context import DrillContext
from drills.locations import DirectoryLocation, Location
from drills.recovery import (
    Recovery,
    Serving,
    Traffic,
    Writers,
    audit_step,
    backup_schedule,
    figures,
    make_post_backup_writes,
    process_start_time,
    prove_serving,
    recover,
    sleep_until_just_before,
    traffic,
    wait_for_backups_to_resume,
    wait_for_worst_point,
)
from drills.timeline import DrillCannotRun, Timeline
from harness.clients.devnet import Devnet
from harness.target import KubernetesTarget, StackState
from harness.waiting import wait_for
from stack.processes import store_part
from stack.topology import key_escrow_dir, record_restart


@dataclass(frozen=True)
class Site:
    """Where the restore drill acts, and how it loses and recovers the database there."""

    service_url: str
    chain_url: str
    usdt_contract: str
    backups: Location
    escrow: Location  # the escrowed wallet keys
    clock: BackupClock
    interval: float  # between scheduled backups, at the time scale the drill runs
    rpo_target: float
    fault: str  # what is lost, as the timeline names it
    lose: Callable[[], None]
    # after the loss: the store to recover into and the writers; undoes what it did on the way out
    recovering: Callable[[Timeline, Traffic], AbstractContextManager[tuple[str, Writers]]]


def _kill_store(state: StackState) -> None:
    part = state.part("store")
    started = process_start_time(part.pid)
    if started is None:
        raise DrillCannotRun("the store is not running: nothing to lose")
    os.kill(part.pid, signal.SIGKILL)
    wait_for(lambda: process_start_time(part.pid) != started or None, 10, "the store to die")


def _local_site(ctx: DrillContext, timeline: Timeline) -> Site:
    stack_dir = ctx.stack_dir
    with timeline.step("the local stack and its backup agent") as step:
        try:
            state = StackState.read(stack_dir)
            status_file = stack_dir / "backups" / "agent-status.json"
            interval, rpo_target = backup_schedule(ctx, status_file, step)
        except (OSError, ValueError) as error:
            raise DrillCannotRun(
                f"no local stack with a backup agent ({error}); `tronops up --detach`"
            ) from error

    def lose() -> None:
        _kill_store(state)
        shutil.rmtree(stack_dir / "store" / "databases", ignore_errors=True)

    @contextmanager
    def restarted(timeline: Timeline, clients: Traffic) -> Iterator[tuple[str, Writers]]:
        port = int(state.part("store").url.rsplit(":", 1)[1])
        with timeline.step("store restarted, empty"):
            store = store_part(stack_dir, port).start()
            record_restart(stack_dir, store)
        yield store.url, Serving(clients.admin)

    return Site(
        state.service_url, state.url("devnet"), state.usdt_contract, DirectoryLocation(stack_dir / "backups"),
        DirectoryLocation(key_escrow_dir(stack_dir)), AgentClock(status_file), interval, rpo_target,
        "store killed, its data removed", lose, restarted,
    )  # fmt: skip


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    if isinstance(ctx.target, KubernetesTarget):
        from drills.restore_kube import kubernetes_site

        site = kubernetes_site(ctx, ctx.target, timeline)
    else:
        site = _local_site(ctx, timeline)
    with traffic(ctx, site.service_url) as clients:
        with timeline.step("wait for the worst point: just before the next scheduled backup"):
            due = wait_for_worst_point(clients, site.clock, site.interval)
            writes = make_post_backup_writes(clients, Devnet(site.chain_url))
            sleep_until_just_before(due, site.interval)
            newest = site.clock.newest()
            if newest is None:
                raise DrillCannotRun(f"{site.backups.url}: no complete backup to restore")
        with timeline.step(f"fault: {site.fault}") as step:
            site.lose()
            fault_at = time.time()
            clients.probe.start()
            step.notes.append(
                f"newest backup {newest['archive']}, {fault_at - newest['finished_at']:.1f} s old"
            )
        clients.canaries.stop()
        with site.recovering(timeline, clients) as (store_url, writers):
            chain = (site.chain_url, site.usdt_contract)
            recovery = Recovery.of_newest(store_url, site.backups, site.escrow, newest, chain)
            rpo = recover(timeline, recovery, clients, writes, fault_at, site.rpo_target, writers)
        prove_serving(ctx, timeline, clients, writes, fault_at)
        wait_for_backups_to_resume(timeline, site.clock, site.interval)
        audit = audit_step(
            ctx, timeline, site.service_url, site.chain_url, site.usdt_contract, clients.started_at
        )
    return figures(timeline, rpo, site.rpo_target, audit)
