"""The steps the data-loss drills share (`restore`, `region-loss`): writes made after the backup that
must survive it, recovery from a backup plus escrowed keys plus the chain, and the proofs after it
(RTO, retried keys not paid twice, the post-backup wallet spendable, the money audit)."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pymongo import MongoClient

from drills import backup
from drills.agent import read_status
from drills.backup_clock import BackupClock
from drills.canaries import Canaries, Probe, answered
from drills.chain_recovery import recover_operations
from drills.context import LOCAL_RTO_SECONDS, RTO_WINDOW, DrillContext
from drills.database import default_database, service_name
from drills.keys import recover_wallets
from drills.locations import Location
from drills.timeline import DrillCannotRun, Timeline
from harness.audit.chain import TronGrid
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for

FUNDING = 10_000_000  # 10 TRX to the post-backup wallet: two 1 TRX payouts, 1 TRX memo fee each, and
# the first counted twice while it settles (spent on chain, still reserved until solidified)
SPEND = "1"  # TRX paid out of it after the restore
AUDIT_SETTLE_S = 60.0  # the drill's payout reaches its confirmations first (19 blocks locally: ~60 s at 3 s)
AUDIT_STUCK_AFTER_MS = 120_000
FREEZE_REASON = "DR drill: recovery"
FREEZE_WAIT_S = 30.0  # the pods' readiness returns within seconds of the store (probes x0.2 locally)


def process_start_time(pid: int) -> str | None:
    """The process's start time while it lives; None once it is gone or a zombie (reaped if ours)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return None
    return fields[19]


def wait_for_worst_point(clients: Traffic, backups: BackupClock, interval: float) -> float:
    """A wallet the probe reads (404 until restored) is put in a backup; returns when the next backup is
    due, at least half an interval away (the post-backup writes need the time)."""
    held = clients.api.wallet("TRX", "in the backup")
    clients.probe.path = f"/api/v1/wallets/{held['wallet_id']}"
    made = time.time()
    wait_for(
        lambda: (backups.newest() or {}).get("started_at", 0) > made or None,
        interval * 3,
        "a backup holding the probe's wallet",
    )
    due = backups.next_due()
    return due + interval if due - time.time() < interval * 0.5 else due


def wait_for_backups_to_resume(timeline: Timeline, backups: BackupClock, interval: float) -> None:
    with timeline.step("backups resume on schedule") as step:
        recovered_at = time.time()
        resumed = wait_for(
            lambda: (backups.newest() or {}).get("started_at", 0) > recovered_at or None,
            interval * 3 + 5,
            "a backup after recovery",
        )
        step.check("a backup completed after recovery", float(bool(resumed)), "==", 1.0)


def sleep_until_just_before(due: float, interval: float) -> None:
    lead = max(0.5, interval * 0.1)
    time.sleep(max(0.0, due - lead - time.time()))


def backup_schedule(ctx: DrillContext, status_file: Path, step: Any) -> tuple[float, float]:
    """The backup interval the agent runs and the RPO target at its time scale, noted on `step`."""
    agent = read_status(status_file)
    scale = float(agent["time_scale"])
    interval = float(agent["schedule"]["interval_seconds"])
    rpo_target = ctx.objectives.disaster_recovery.rpo_seconds["database"] * scale
    step.notes.append(
        f"backups every {interval:g} s (the CronJob's schedule x{scale:g}); RPO target {rpo_target:g} s"
    )
    return interval, rpo_target


@dataclass
class Traffic:
    """The drill's clients: a user and an admin on one base URL, canary writes (RPO) from the start, and
    the probe (RTO) started at the fault."""

    api: Api
    admin: Api
    canaries: Canaries
    probe: Probe
    started_at: float


@contextlib.contextmanager
def traffic(ctx: DrillContext, service_url: str) -> Iterator[Traffic]:
    api = Api(service_url, ctx.secret(), f"drill-{uuid.uuid4().hex[:8]}")
    admin = Api(service_url, ctx.secret(), "drill-admin")
    running = Traffic(api, admin, Canaries(api, admin).start(), Probe(api), time.time())
    try:
        yield running
    finally:
        running.canaries.stop()
        running.probe.stop()


def move_traffic(clients: Traffic, url: str) -> None:
    """Client-side failover: the drill's clients now use the secondary's URL. For everyone else a DNS
    record or a global load balancer does it on Kubernetes (the name resolves to the secondary's
    ingress), which the drill does not drive."""
    for client in (clients.api, clients.admin):
        client.base_url = url
        client.http.base_url = url  # type: ignore[assignment]  # httpx parses the string


@dataclass(frozen=True)
class PostBackupWrites:
    """A wallet created and funded after the backup, and a payout out of it broadcast under a key that
    a client will retry after the recovery."""

    wallet_id: str
    payout: dict[str, Any]
    key: str
    tx_id: str


def make_post_backup_writes(clients: Traffic, devnet: Devnet) -> PostBackupWrites:
    api, canaries = clients.api, clients.canaries
    funded = api.wallet("TRX", "post-backup canary")
    devnet.fund(funded["address"], FUNDING)
    canaries.record("funded wallet", f"/api/v1/wallets/{funded['wallet_id']}")
    paid = {"amount": SPEND, "currency": "TRX", "source_wallet_id": funded["wallet_id"],
            "recipient_address": _new_address()}  # fmt: skip
    key = str(uuid.uuid4())
    first = api.post("/api/v1/payouts/initiate", paid, key=key)
    tx_id = broadcast(api, first.json()["payout_id"]) if first.status_code == 202 else None
    if not tx_id:
        raise DrillCannotRun(f"a canary payout was not broadcast: {first.status_code} {first.text[:160]}")
    canaries.record("broadcast payout", f"/api/v1/payouts/{first.json()['payout_id']}", tx_id)
    return PostBackupWrites(funded["wallet_id"], paid, key, tx_id)


class Writers(Protocol):
    """The service's replicas while its database is recovered: either serving on (locally: RTO counts
    what clients see) or stopped first (the seed's procedure on a cluster: scaled to 0)."""

    def freeze(self) -> None:
        """Payouts frozen before the chain is reconciled (the restored settings say unfrozen)."""
        ...

    def back(self, timeline: Timeline) -> None:
        """Serving on the recovered database; nothing to do when they never stopped, or are back."""
        ...


@dataclass(frozen=True)
class Serving:
    """Replicas that stay up through the recovery: the freeze goes through the admin API."""

    admin: Api

    def freeze(self) -> None:
        freeze(self.admin, True)

    def back(self, timeline: Timeline) -> None:
        pass


@dataclass(frozen=True)
class Recovery:
    """Where a recovery reads from and writes to."""

    store_url: str  # the (empty) store the service now runs on
    backups: Location  # where the backup was shipped
    archive: str
    escrow: Location  # the escrowed wallet keys
    devnet_url: str
    usdt_contract: str
    since: float  # the backup's start: operations the chain has from then on are brought back

    @classmethod
    def of_newest(
        cls,
        store_url: str,
        backups: Location,
        escrow: Location,
        newest: dict[str, Any],
        chain: tuple[str, str],
    ) -> Recovery:
        """From the newest backup as a BackupClock names it, and the chain's (devnet URL, USDT contract)."""
        return cls(store_url, backups, newest["archive"], escrow, *chain, since=newest["started_at"])


def recover(
    timeline: Timeline,
    recovery: Recovery,
    clients: Traffic,
    writes: PostBackupWrites,
    fault_at: float,
    rpo_target: float,
    writers: Writers,
) -> dict[str, tuple[float | None, int, int]]:
    """Restore the backup, freeze payouts, put back escrowed keys and the chain's operations, have the
    writers back, measure RPO, have a client retry its key, resume payouts (the writers back and the
    freeze lifted also when a step fails). Returns the RPO per canary kind."""
    api, admin, canaries = clients.api, clients.admin, clients.canaries
    client: MongoClient[Any] = MongoClient(recovery.store_url, serverSelectionTimeoutMS=5000)
    database = default_database()
    with timeline.step("restore the newest scheduled backup") as step:
        loaded = backup.load(recovery.backups, recovery.archive, service_name())
        # force: locally the pods reconnect to the empty store at once and may have written (the seed's
        # plan scales them to 0 first, as the drill does on a cluster; locally they stay up so RTO counts
        # what clients see)
        restored = backup.restore(client, loaded, database, force=True)
        step.notes.append(
            f"{recovery.archive}: " + ", ".join(f"{k} {v}" for k, v in sorted(restored.items()))
        )
    # at once: the restored settings say unfrozen, and the backup's unsent payouts may have been sent
    # after it
    with timeline.step("freeze payouts until the chain is reconciled"):
        writers.freeze()
    try:
        with timeline.step("recover keys: escrowed wallets the backup lacks") as step:
            back = recover_wallets(client, database, recovery.escrow)
            step.measured["wallets_recovered"] = len(back)
            step.check("post-backup wallet recovered", float(writes.wallet_id in back), "==", 1.0)
        with timeline.step("recover operations from the chain") as step:
            grid = TronGrid(recovery.devnet_url, recovery.usdt_contract)
            chain = recover_operations(client, database, grid, int(recovery.since * 1000))
            grid.close()
            step.measured["operations_recovered"] = len(chain.recovered)
            step.measured["operations_named_by_memo"] = len(chain.by_memo)
            step.measured["held_for_operator"] = len(chain.held)
            step.notes.append(
                f"{len(chain.recovered)} recovered ({len(chain.by_memo)} by their memo), "
                f"{len(chain.held)} held for an operator"
            )
            step.check("operations recovered from the chain", len(chain.recovered), ">=", 1)
        writers.back(timeline)
        with timeline.step("canaries: RPO and writes lost") as step:
            rpo = canaries.rpo(fault_at)
            for kind, (seconds, lost, acked) in rpo.items():
                key = kind.replace(" ", "_")
                step.measured[f"rpo_{key}_seconds"] = round(seconds, 2) if seconds is not None else -1
                step.measured[f"lost_{key}"] = lost
                step.check(f"RPO {kind}", seconds, "<=", rpo_target, "s")
                step.notes.append(f"{kind}: {acked - lost}/{acked} kept")
        with timeline.step("a client retries its idempotency key") as step:
            _retry(api, writes, step)
            fee = int(
                Devnet(recovery.devnet_url)
                .node("wallet/gettransactioninfobyid", {"value": writes.tx_id})
                .get("fee", 0)
            )
            step.measured["memo_fee_burned_sun"] = fee
            step.notes.append(f"the first payout's transaction burned {fee} SUN for its memo")
    finally:
        client.close()
        writers.back(timeline)
        with timeline.step("payouts resume"):
            freeze(admin, False)
    return rpo


def _retry(api: Api, writes: PostBackupWrites, step: Any) -> None:
    retry = api.post("/api/v1/payouts/initiate", writes.payout, key=writes.key)
    retried = (
        api.get(f"/api/v1/payouts/{retry.json()['payout_id']}").json() if retry.status_code == 202 else {}
    )
    # the same id is no proof (ids derive from the key): a payout not settled by the first transaction
    # is a second payment waiting for the freeze to lift
    again = retry.status_code == 202 and retried.get("tx_id") != writes.tx_id
    if again:  # frozen, so not sent: cancelled before payouts resume
        cancel = {"payout_id": retry.json()["payout_id"], "reason": "DR drill: would pay twice"}
        api.post("/api/v1/payouts/cancel", cancel)
        step.notes.append(
            "the retry made a new payout (cancelled by the drill while frozen): the service cannot tell "
            "it from the chain-recovered one"
        )
    else:
        step.notes.append(
            f"retry answered {retry.status_code} with payout "
            f"{retried.get('payout_id') or retry.text[:160]} (tx {retried.get('tx_id')})"
        )
    step.check("retried idempotency keys paid twice", float(again), "==", 0.0)


def prove_serving(
    ctx: DrillContext, timeline: Timeline, clients: Traffic, writes: PostBackupWrites, fault_at: float
) -> None:
    """RTO to the first window of requests within the latency SLO, then a payout out of the post-backup
    wallet (its funds are spendable) and the time to that first broadcast."""
    api, probe = clients.api, clients.probe
    with timeline.step("serving again") as step:
        latency = ctx.latency_slo_seconds()
        recovered = wait_for(
            lambda: probe.recovered_at(RTO_WINDOW, latency), LOCAL_RTO_SECONDS * 2, "serving"
        )
        rto = recovered - fault_at
        step.measured["rto_seconds"] = round(rto, 2)
        step.check("RTO", rto, "<=", LOCAL_RTO_SECONDS, "s")
    with timeline.step("funds sent to the post-backup wallet are spendable") as step:
        spend = dict(writes.payout, recipient_address=_new_address())
        payout = api.post("/api/v1/payouts/initiate", spend, key=str(uuid.uuid4()))
        sent = payout.status_code == 202 and broadcast(api, payout.json()["payout_id"]) is not None
        if sent:
            step.measured["first_payout_broadcast_seconds"] = round(time.time() - fault_at, 2)
        step.notes.append(f"payout: {payout.status_code} {'broadcast' if sent else payout.text[:160]}")
        step.check("payout from the post-backup wallet broadcast", float(sent), "==", 1.0)


def audit_step(
    ctx: DrillContext, timeline: Timeline, service_url: str, devnet_url: str, usdt: str, since: float
) -> str:
    """The money checker (harness/audit) through the contract: admin ledger against the chain."""
    from harness.audit.run import audit
    from harness.tokens import mint_token

    with timeline.step("money audit: ledger against chain") as step:
        token = mint_token(ctx.secret(), "drill-audit", ["admin"], 600)
        report = audit(
            service_url, token, devnet_url, usdt,
            since_ms=int(since * 1000), stuck_after_ms=AUDIT_STUCK_AFTER_MS, settle_s=AUDIT_SETTLE_S,
        )  # fmt: skip
        step.measured["audit_findings"] = len(report.findings)
        step.notes.append(report.summary())
        step.notes.extend(str(f) for f in report.findings[:10])
        step.check("audit findings", len(report.findings), "==", 0)
    return "clean" if report.clean else f"{len(report.findings)} finding(s)"


def figures(
    timeline: Timeline, rpo: dict[str, tuple[float | None, int, int]], rpo_target: float, audit: str
) -> dict[str, Any]:
    """What the runner's table shows for a data-loss drill."""
    return {
        "rto": (timeline_measure(timeline, "rto_seconds"), LOCAL_RTO_SECONDS),
        "rpo": {kind: (seconds, rpo_target) for kind, (seconds, _, _) in rpo.items()},
        "lost": sum(lost for _, lost, _ in rpo.values()),
        "memo_fee_sun": timeline_measure(timeline, "memo_fee_burned_sun"),
        "audit": audit,
    }


def freeze(admin: Api, frozen: bool) -> None:
    """Set the payout freeze, waiting out a service that is not ready yet (the store just came back):
    refused for FREEZE_WAIT_S is a drill that cannot run."""
    body = {"frozen": frozen, "reason": FREEZE_REASON}
    try:
        answer = answered(
            lambda: admin.http.put("/api/v1/admin/payouts/freeze", json=body),
            FREEZE_WAIT_S,
            "the service to take the payout freeze",
        )
    except TimeoutError as error:
        raise DrillCannotRun(f"payout freeze refused for {FREEZE_WAIT_S:g} s: {error}") from error
    if answer.status_code != 200:
        raise DrillCannotRun(f"payout freeze refused: {answer.status_code} {answer.text[:160]}")


def broadcast(api: Api, payout_id: str) -> str | None:
    """The payout's transaction once broadcast (signed, on the chain); None if it failed."""

    def settled() -> dict[str, Any] | None:
        body = dict(api.get(f"/api/v1/payouts/{payout_id}").json())
        return body if body.get("tx_id") or body.get("status") in ("failed", "cancelled") else None

    tx_id = wait_for(settled, 60, f"payout {payout_id} to be broadcast").get("tx_id")
    return str(tx_id) if tx_id else None


def timeline_measure(timeline: Timeline, name: str) -> float | None:
    return next((s.measured[name] for s in timeline.steps if name in s.measured), None)


def _new_address() -> str:
    from harness.traffic import new_address

    return new_address()
