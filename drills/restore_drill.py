"""Drill `restore`: the database is lost at the worst point of the backup interval (store killed and
its data removed just before the next scheduled backup); the newest scheduled backup is restored,
escrowed wallets are put back, the service serves again. Measured: RPO per canary kind, writes lost,
RTO to the first window of requests within the latency SLO, the time to the first payout broadcast
again, and that funds sent to a wallet created after the backup are still spendable."""

from __future__ import annotations

import os
import shutil
import signal
import time
from typing import Any

from drills.agent import read_status
from drills.context import DrillContext
from drills.locations import DirectoryLocation
from drills.recovery import (
    Recovery,
    audit_step,
    backup_schedule,
    figures,
    make_post_backup_writes,
    process_start_time,
    prove_serving,
    recover,
    sleep_until_just_before,
    traffic,
    wait_for_worst_point,
)
from drills.timeline import DrillCannotRun, Timeline
from harness.clients.devnet import Devnet
from harness.target import StackState
from harness.waiting import wait_for
from stack.processes import store_part
from stack.topology import key_escrow_dir, record_restart


def _kill_store(state: StackState) -> None:
    part = state.part("store")
    started = process_start_time(part.pid)
    if started is None:
        raise DrillCannotRun("the store is not running: nothing to lose")
    os.kill(part.pid, signal.SIGKILL)
    wait_for(lambda: process_start_time(part.pid) != started or None, 10, "the store to die")


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    stack_dir = ctx.local_only(
        "restore kills the local store process and deletes its files; on a cluster it would scale the "
        "Deployment to 0 and restore into the target's database, which is not built"
    ).stack_dir
    with timeline.step("the local stack and its backup agent") as step:
        try:
            state = StackState.read(stack_dir)
            status_file = stack_dir / "backups" / "agent-status.json"
            interval, rpo_target = backup_schedule(ctx, status_file, step)
        except (OSError, ValueError) as error:
            raise DrillCannotRun(
                f"no local stack with a backup agent ({error}); `tronops up --detach`"
            ) from error
    with traffic(ctx, state.service_url) as clients:
        with timeline.step("wait for the worst point: just before the next scheduled backup"):
            due = wait_for_worst_point(clients, status_file, interval)
            writes = make_post_backup_writes(clients, Devnet(state.url("devnet")))
            sleep_until_just_before(due, interval)
            newest = read_status(status_file)["last_success"]
        with timeline.step("fault: store killed, its data removed") as step:
            _kill_store(state)
            fault_at = time.time()
            clients.probe.start()
            shutil.rmtree(stack_dir / "store" / "databases", ignore_errors=True)
            step.notes.append(
                f"newest backup {newest['archive']}, {fault_at - newest['finished_at']:.1f} s old"
            )
        clients.canaries.stop()
        port = int(state.part("store").url.rsplit(":", 1)[1])
        with timeline.step("store restarted, empty"):
            store = store_part(stack_dir, port).start()
            record_restart(stack_dir, store)
        recovery = Recovery(
            store.url, DirectoryLocation(stack_dir / "backups"), newest["archive"], key_escrow_dir(stack_dir),
            state.url("devnet"), state.usdt_contract, since=newest["started_at"],
        )  # fmt: skip
        rpo = recover(timeline, recovery, clients, writes, fault_at, rpo_target)
        prove_serving(ctx, timeline, clients, writes, fault_at)
        with timeline.step("backups resume on schedule") as step:
            recovered_at = time.time()
            resumed = wait_for(
                lambda: (
                    (read_status(status_file)["last_success"] or {}).get("started_at", 0) > recovered_at
                    or None
                ),
                interval * 2 + 5,
                "a backup after recovery",
            )
            step.check("a backup completed after recovery", float(bool(resumed)), "==", 1.0)
        audit = audit_step(
            ctx, timeline, state.service_url, state.url("devnet"), state.usdt_contract, clients.started_at
        )
    return figures(timeline, rpo, rpo_target, audit)
