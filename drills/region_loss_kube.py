"""The `region-loss` drill on a kubernetes target (drills/region_loss_drill.py runs it): two clusters, the
target's (the primary) and the one its `secondary:` block names, on one shared chain (each region's
`chain_url` reaches it). Traffic runs on the primary's base_url up to the worst point before its next
backup (read from the gaps between its shipped backups, as drills/restore_kube.py reads them).

The drill can act only through the Kubernetes API: it loses the primary by scaling its Deployment to 0
and using its database no more (on a real region loss the whole cluster is gone, its database, CronJob
and ingress with it). The drill's clients then move to the secondary's base_url: client-side failover,
where on a cluster a DNS record or a global load balancer switches the name, which the drill does not
drive. The secondary (only with `allow_data_loss: true` in its block) is recovered as `restore` recovers
a cluster, with the same pieces: its Deployment scaled to 0, the primary's newest shipped backup (the
primary's `backups`) restored into its mongo_url, payouts frozen in its database, keys back from the
primary's escrow (`backups`/keys/) and operations from the chain, scaled back until routed. Measured
as `restore` is (drills/recovery.py): RTO, RPO per kind, writes lost, retried keys not paid twice, the
post-backup wallet spendable, the money audit on the secondary.

On the way out, whatever failed: the secondary's replicas as found and the drill's freeze there lifted;
the primary back at its replicas as found, checked ready and routed. The primary returns fenced: payouts
frozen in its database (needs the primary's `mongo_url`), because its database diverged from the
secondary's, which serves now, and a payout pending in both would be paid twice on the shared chain.
Failing back (a restore of the secondary's backups into the primary) is an operator's decision
(docs/dr-runbook.md); the fence stays until they lift it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pymongo import MongoClient

from drills.context import DrillContext
from drills.database import default_database
from drills.maintenance_kube import open_deployment, scale_to_zero
from drills.recovery import (
    Recovery,
    Traffic,
    audit_step,
    figures,
    make_post_backup_writes,
    move_traffic,
    prove_serving,
    recover,
    sleep_until_just_before,
    traffic,
    wait_for_worst_point,
)
from drills.restore_kube import (
    Opened,
    ShippedSchedule,
    StoppedDeployment,
    recovery_keys,
    shipped_schedule,
    writers_stopped,
)
from drills.timeline import DrillCannotRun, Timeline
from harness.clients.devnet import Devnet
from harness.target import KubernetesTarget
from stack.processes import http_ok

DRILL = "region-loss"
FENCE_REASON = "DR drill region-loss: the primary was failed over; fail back before lifting"


def _secondary(target: KubernetesTarget) -> KubernetesTarget:
    if target.secondary is None:
        raise DrillCannotRun(
            f"{target.source}: region-loss needs the second region: add a `secondary:` block to the target "
            "with the keys of a kubernetes target for the other cluster (context, namespace, selector, "
            "base_url, prometheus_url, virtual_service, deployment, mongo_url, allow_data_loss: true, "
            "chain_url, usdt_contract; see harness/target.py)"
        )
    return target.secondary


@dataclass(frozen=True)
class _Regions:
    primary: KubernetesTarget
    secondary: KubernetesTarget
    standby: Opened  # the secondary's Deployment
    primary_chain: str  # where the post-backup wallet is funded
    mongo_url: str  # the secondary's database: the primary's backup is restored over it
    chain_url: str  # the secondary's way to the shared chain
    usdt: str
    shipped: ShippedSchedule  # the primary's backups


def run_on_kubernetes(ctx: DrillContext, target: KubernetesTarget, timeline: Timeline) -> dict[str, Any]:
    secondary = _secondary(target)
    # every key is checked before anything is touched
    mongo_url, chain_url, usdt = recovery_keys(
        ctx, secondary, DRILL, "restores the primary's backup over the service's database"
    )
    primary_chain = ctx.kube_needs(target, "chain_url", f"{DRILL} (it funds a wallet on the primary)")
    primary_mongo = ctx.kube_needs(target, "mongo_url", f"{DRILL} (it fences the primary before it returns)")
    with timeline.step("two regions: the target's cluster and its secondary, one shared chain") as step:
        primary = open_deployment(ctx, target, f"{DRILL} (it scales the primary's Deployment to 0)")
        standby = open_deployment(ctx, secondary, f"{DRILL} (it stops the secondary's writers to restore)")
        shipped = shipped_schedule(ctx, target, f"{DRILL} (the secondary restores the primary's backups)")
        step.notes.append(
            f"primary {target.namespace}/{primary[0].name} ({target.context}) at {primary[2]} replicas, "
            f"{target.base_url}; secondary {secondary.namespace}/{standby[0].name} ({secondary.context}) at "
            f"{standby[2]} replicas, {secondary.base_url}; chain {chain_url}; "
            f"the primary's {shipped.described}"
        )
    regions = _Regions(target, secondary, standby, primary_chain, mongo_url, chain_url, usdt, shipped)
    fence = _Fence(primary, primary_mongo, target.base_url)
    with traffic(ctx, target.base_url) as clients:
        try:
            return _drill(ctx, timeline, clients, regions, fence)
        finally:
            fence.primary_back(ctx, timeline)


class _Fence:
    """The primary once it was lost: back at its replicas as found, payouts frozen in its database first."""

    def __init__(self, opened: Opened, mongo_url: str, base_url: str) -> None:
        self.opened, self.mongo_url, self.base_url = opened, mongo_url, base_url
        self.lost = False

    def lose(self) -> str:
        self.lost = True
        deployment, pods, _ = self.opened
        return scale_to_zero(deployment, pods)

    def primary_back(self, ctx: DrillContext, timeline: Timeline) -> None:
        if not self.lost:
            return
        deployment, _, replicas = self.opened
        client: MongoClient[Any] = MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000)
        primary = StoppedDeployment(
            deployment, replicas, client[default_database()], self.base_url, FENCE_REASON
        )
        try:
            fencing = "the primary fenced: payouts frozen in its database"
            with timeline.step(fencing, keep_going=True) as fenced:
                primary.freeze()
                fenced.notes.append(
                    f"at {self.mongo_url}; it diverged from the secondary, which serves now: a payout "
                    "pending in both would be paid twice on the shared chain; failing back is an "
                    "operator's move"
                )
            if fenced.error:  # back unfenced it could pay twice: left at 0, said
                ctx.say(
                    f"[{DRILL}] the primary stays at 0 replicas: it could not be fenced ({fenced.error}); "
                    f"scale it back to {replicas} by hand once its payouts are frozen"
                )
                return
            with timeline.step("the primary back at its replicas as found", keep_going=True) as step:
                primary.back(timeline)
                status = deployment.status()
                step.check("primary replicas as found", status["desired"], "==", replicas)
                step.check("primary ready replicas", status["ready"], ">=", replicas)
        finally:
            client.close()


def _drill(
    ctx: DrillContext, timeline: Timeline, clients: Traffic, regions: _Regions, fence: _Fence
) -> dict[str, Any]:
    primary, secondary, shipped = regions.primary, regions.secondary, regions.shipped
    with timeline.step("traffic on the primary up to the worst point: just before its next backup"):
        due = wait_for_worst_point(clients, shipped.clock, shipped.interval)
        writes = make_post_backup_writes(clients, Devnet(regions.primary_chain))
        sleep_until_just_before(due, shipped.interval)
    with timeline.step("fault: the primary region lost (Deployment scaled to 0, database unused)") as step:
        # the newest backup shipped before the loss: a lost region's CronJob ships none after it (here the
        # primary's keeps running, so later ones are left alone)
        newest = shipped.clock.newest()
        fault_at = time.time()
        clients.probe.start()
        step.notes.append(fence.lose())
        step.notes.append(
            "the drill acts only through the Kubernetes API; on a real region loss the whole cluster is gone "
            "(its database, backup CronJob and ingress too): the drill uses the primary's database no more"
        )
        step.check("primary answering", float(http_ok(f"{primary.base_url}/health/ready")), "==", 0.0)
    clients.canaries.stop()
    with timeline.step("traffic moves to the secondary (client-side failover)") as step:
        move_traffic(clients, secondary.base_url)
        step.notes.append(
            f"the drill's clients now use {secondary.base_url}; on a cluster a DNS record or a global load "
            "balancer moves the service's name to the secondary's ingress: the drill does not drive it"
        )
    with timeline.step("the secondary finds the primary's newest shipped backup") as step:
        if newest is None:
            raise RuntimeError(f"the secondary cannot restore the primary: {shipped.backups.url}: no backup")
        step.notes.append(
            f"{newest['archive']} at {shipped.backups.url}, {fault_at - newest['finished_at']:.1f} s older "
            "than the loss"
        )
    stopped = writers_stopped(
        ctx, timeline, regions.standby, secondary.base_url, regions.mongo_url, "the secondary"
    )
    with stopped as (store_url, writers):
        chain = (regions.chain_url, regions.usdt)
        recovery = Recovery.of_newest(store_url, shipped.backups, shipped.escrow, newest, chain)
        rpo = recover(timeline, recovery, clients, writes, fault_at, shipped.rpo_target, writers)
    prove_serving(ctx, timeline, clients, writes, fault_at)
    audit = audit_step(ctx, timeline, secondary.base_url, regions.chain_url, regions.usdt, clients.started_at)
    return figures(timeline, rpo, shipped.rpo_target, audit)
