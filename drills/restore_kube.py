"""The `restore` drill on a kubernetes target (drills/restore_drill.py runs it): the service's database
at the target's `mongo_url` is dropped (only with `allow_data_loss: true` in the target), then the
seed's restore procedure stops the writers first: the Deployment is scaled to 0 (the Kubernetes API
calls kubectl makes, drills/maintenance_kube.py), the newest backup at the target's `backups` is
restored into `mongo_url`, the payout freeze is set in the database itself (no replica runs to take it
through the admin API; the document the service reads, service/ports/store.py `payout_freeze`), keys
come back from the escrow beside the backups (`keys/`) and operations from the chain (`chain_url`,
`usdt_contract`), and the Deployment is scaled back until status.readyReplicas says so. Whatever
fails after the scale to 0, the Deployment is scaled back and the freeze lifted on the way out.

No agent answers on a cluster: the backup interval is the gap between the newest backups at the
location. The RPO target is scaled by that interval against deploy/'s CronJob schedule, never above
x1 (a test pointing the target at a local stack's agent runs it x0.05, and the output says so).
`region-loss` on a kubernetes target (drills/region_loss_kube.py) uses the same pieces on its secondary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from drills import schedule
from drills.backup_clock import ShippedBackups
from drills.context import DrillContext
from drills.database import default_database
from drills.locations import Location, LocationError, open_location
from drills.maintenance_drill import READY_TIMEOUT_S
from drills.maintenance_kube import open_deployment, put_back, scale_back, scale_to_zero
from drills.recovery import FREEZE_REASON, Traffic, Writers
from drills.restore_drill import Site
from drills.timeline import DrillCannotRun, Timeline
from harness.clients.deployments import KubernetesDeployment
from harness.clients.kubernetes import KubernetesPods
from harness.target import KubernetesTarget
from harness.waiting import wait_for
from stack.processes import http_ok

SETTINGS, PAYOUT_FREEZE = "settings", "payout_freeze"  # service/ports/store.py: where the freeze lives
DRILL_ADMIN = "dr-drill"  # changed_by on the freeze the drill sets in the database
ROUTED_CHECKS = 5  # consecutive ready answers through base_url that make the service routed again


@dataclass(frozen=True)
class StoppedDeployment:
    """Writers stopped for the recovery: the Deployment at 0 replicas until `back`."""

    deployment: KubernetesDeployment
    replicas: int  # as found
    database: Any  # the service's pymongo Database at mongo_url
    base_url: str  # where clients reach the service
    reason: str = FREEZE_REASON  # on the freeze the drill sets, for whoever reads it

    def _set_freeze(self, frozen: bool, where: dict[str, Any]) -> int:
        state = {"frozen": frozen, "reason": self.reason, "changed_at": int(time.time() * 1000),
                 "changed_by": DRILL_ADMIN}  # fmt: skip
        found = self.database[SETTINGS].update_one(
            {"_id": PAYOUT_FREEZE, **where}, {"$set": state}, upsert=not where
        )
        return int(found.modified_count + (1 if found.upserted_id is not None else 0))

    def freeze(self) -> None:
        self._set_freeze(True, {})

    def back(self, timeline: Timeline) -> None:
        status = self.deployment.status()
        if status["desired"] == self.replicas and status["ready"] >= self.replicas:
            return
        with timeline.step(f"writers back: scale the Deployment to {self.replicas}, wait readyReplicas"):
            scale_back(self.deployment, self.replicas)
            # ready pods are not yet routed to (endpoints, the mesh's health checks): the checks that
            # follow read through base_url, where a 503 would count an acknowledged write lost
            ready = f"{self.base_url}/health/ready"
            wait_for(lambda: all(http_ok(ready) for _ in range(ROUTED_CHECKS)), READY_TIMEOUT_S, "routed")

    def undo(self) -> list[str]:
        """The Deployment's replicas as found and the drill's own freeze lifted: what it had to do."""
        done = [note] if (note := put_back(self.deployment, self.replicas)) else []
        if self._set_freeze(False, {"frozen": True, "changed_by": DRILL_ADMIN}):
            done.append("the drill's payout freeze lifted in the database")
        return done


def recovery_keys(ctx: DrillContext, target: KubernetesTarget, drill: str, loss: str) -> tuple[str, str, str]:
    """mongo_url, chain_url and usdt_contract of the target a drill recovers into; exit 2 naming the key
    when one is missing or the target does not allow the data loss (`loss`: what the drill does there)."""
    mongo_url = ctx.kube_needs(target, "mongo_url", f"{drill} (it {loss})")
    if not target.allow_data_loss:
        raise DrillCannotRun(
            f"{target.source}: {drill} {loss} at {mongo_url}; it runs only with `allow_data_loss: true` in "
            "the target (never on a database whose loss is not meant)"
        )
    chain_url = ctx.kube_needs(target, "chain_url", f"{drill} (it recovers operations from the chain)")
    usdt = ctx.kube_needs(target, "usdt_contract", f"{drill} (it recovers USDT transfers from the chain)")
    return mongo_url, chain_url, usdt


def _interval(clock: ShippedBackups, worst_age: float) -> float:
    """The interval between the newest two backups, waiting up to the CronJob's worst backup age for a
    second one (a fresh deployment has one); ValueError when none comes."""

    def read() -> float | None:
        try:
            return clock.interval()
        except ValueError:
            return None

    try:
        return float(wait_for(read, worst_age, "two complete backups", interval=1.0))
    except TimeoutError:
        return clock.interval()  # raises, naming how many there are


@dataclass(frozen=True)
class ShippedSchedule:
    """A cluster's backups as its CronJob ships them: the archives, the key escrow beside them (`keys/`),
    when they are taken, and the RPO target at that pace."""

    backups: Location
    escrow: Location
    clock: ShippedBackups
    interval: float
    rpo_target: float
    described: str  # as the setup step notes it


def shipped_schedule(ctx: DrillContext, target: KubernetesTarget, what_for: str) -> ShippedSchedule:
    """The target's `backups`, the interval between the newest two and the RPO target scaled by it against
    the CronJob's schedule (never above x1); exit 2 when there are none to read."""
    spec = ctx.kube_needs(target, "backups", what_for)
    cron = schedule.read(ctx.cronjob)
    try:
        backups = open_location(spec)
        escrow = open_location(spec.rstrip("/") + "/keys/")
        clock = ShippedBackups(backups)
        interval = _interval(clock, cron.worst_backup_age_seconds)
    except (LocationError, ValueError) as error:
        raise DrillCannotRun(f"{target.source}: backups: {error}") from error
    scale = min(1.0, interval / cron.interval_seconds)
    rpo_target = ctx.objectives.disaster_recovery.rpo_seconds["database"] * scale
    described = (
        f"backups at {backups.url} every {interval:.1f} s (the newest two; the CronJob says {cron.cron}, "
        f"{cron.interval_seconds:g} s: x{scale:.2g}); RPO target {rpo_target:.3g} s"
    )
    return ShippedSchedule(backups, escrow, clock, interval, rpo_target, described)


Opened = tuple[KubernetesDeployment, KubernetesPods, int]  # drills/maintenance_kube.py open_deployment


@contextmanager
def writers_stopped(
    ctx: DrillContext, timeline: Timeline, opened: Opened, base_url: str, mongo_url: str, why: str
) -> Iterator[tuple[str, Writers]]:
    """The Deployment scaled to 0 for a recovery into `mongo_url` (its replicas as found and the drill's
    freeze put back on the way out, whatever failed), as the seed's restore stops writers first."""
    deployment, pods, replicas = opened
    client: MongoClient[Any] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
    writers = StoppedDeployment(deployment, replicas, client[default_database()], base_url)
    try:
        with timeline.step(f"stop the writers: scale the Deployment to 0 ({why})") as step:
            step.notes.append(scale_to_zero(deployment, pods))
        yield mongo_url, writers
    finally:
        undone = writers.undo()
        client.close()
        if undone:
            ctx.say(f"[{timeline.drill}] undone on the way out: {'; '.join(undone)}")


def kubernetes_site(ctx: DrillContext, target: KubernetesTarget, timeline: Timeline) -> Site:
    mongo_url, chain_url, usdt = recovery_keys(ctx, target, "restore", "drops the service's database")
    with timeline.step("the target's Deployment, database and backups") as step:
        opened = open_deployment(ctx, target, "restore (it scales the writers to 0)")
        uploaded = "restore (it restores the newest backup the CronJob uploaded)"
        shipped = shipped_schedule(ctx, target, uploaded)
        step.notes.append(
            f"deployment {target.namespace}/{opened[0].name} at {opened[2]} replicas; {shipped.described}"
        )
    database = default_database()

    def lose() -> None:
        client: MongoClient[Any] = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)
        try:
            client.drop_database(database)
        except PyMongoError as error:
            raise DrillCannotRun(f"cannot drop {database} at {mongo_url}: {error}") from error
        finally:
            client.close()

    def stopped(timeline: Timeline, _clients: Traffic) -> AbstractContextManager[tuple[str, Writers]]:
        return writers_stopped(ctx, timeline, opened, target.base_url, mongo_url, "the seed's restore")

    return Site(
        target.base_url, chain_url, usdt, shipped.backups, shipped.escrow, shipped.clock, shipped.interval,
        shipped.rpo_target, f"the service's database {database} dropped at {mongo_url}", lose, stopped,
    )  # fmt: skip
