"""Drill `restore`: the database is lost at the worst point of the backup interval (store killed and
its data removed just before the next scheduled backup); the newest scheduled backup is restored,
escrowed wallets are put back, the service serves again. Measured: RPO per canary kind, writes lost,
RTO to the first window of requests within the latency SLO, the time to the first payout broadcast
again, and that funds sent to a wallet created after the backup are still spendable."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from drills import backup
from drills.agent import read_status
from drills.canaries import Canaries, Probe
from drills.chain_recovery import recover_operations
from drills.context import LOCAL_RTO_SECONDS, RTO_WINDOW, DrillContext
from drills.database import default_database, service_name
from drills.keys import recover_wallets
from drills.locations import DirectoryLocation
from drills.timeline import DrillCannotRun, Timeline
from harness.audit.chain import TronGrid
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.target import StackState
from harness.waiting import wait_for
from stack.processes import store_part
from stack.topology import key_escrow_dir, record_restart

FUNDING = 10_000_000  # 10 TRX to the post-backup wallet: two 1 TRX payouts, 1 TRX memo fee each, and
# the first counted twice while it settles (spent on chain, still reserved until solidified)
SPEND = "1"  # TRX paid out of it after the restore
AUDIT_SETTLE_S = 60.0  # the drill's payout reaches its confirmations first (19 blocks locally: ~60 s at 3 s)
AUDIT_STUCK_AFTER_MS = 120_000
FREEZE_WAIT_S = 30.0  # the pods' readiness returns within seconds of the store (probes x0.2 locally)


def _kill_store(state: StackState) -> None:
    part = state.part("store")
    started = _start_time(part.pid)
    if started is None:
        raise DrillCannotRun("the store is not running: nothing to lose")
    os.kill(part.pid, signal.SIGKILL)
    wait_for(lambda: _start_time(part.pid) != started or None, 10, "the store to die")


def _start_time(pid: int) -> str | None:
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


def run(ctx: DrillContext, timeline: Timeline) -> dict[str, Any]:
    stack_dir = ctx.stack_dir
    with timeline.step("the local stack and its backup agent") as step:
        try:
            state = StackState.read(stack_dir)
            status_file = stack_dir / "backups" / "agent-status.json"
            agent = read_status(status_file)
        except (OSError, ValueError) as error:
            raise DrillCannotRun(
                f"no local stack with a backup agent ({error}); `tronops up --detach`"
            ) from error
        scale = float(agent["time_scale"])
        interval = float(agent["schedule"]["interval_seconds"])
        rpo_target = ctx.objectives.disaster_recovery.rpo_seconds["database"] * scale
        step.notes.append(
            f"backups every {interval:g} s (the CronJob's schedule x{scale:g}); RPO target {rpo_target:g} s"
        )
    started_at = time.time()
    audit_text = "not run"
    api = Api(state.service_url, ctx.secret(), f"drill-{uuid.uuid4().hex[:8]}")
    devnet = Devnet(state.url("devnet"))
    admin = Api(state.service_url, ctx.secret(), "drill-admin")
    canaries = Canaries(api, admin).start()
    probe = Probe(api)
    try:
        with timeline.step("wait for the worst point: just before the next scheduled backup") as step:
            held = api.wallet("TRX", "in the backup")  # what the RTO probe reads: 404 until restored
            probe.path = f"/api/v1/wallets/{held['wallet_id']}"
            made = time.time()
            wait_for(
                lambda: (read_status(status_file)["last_success"] or {}).get("started_at", 0) > made or None,
                interval * 3,
                "a backup holding the probe's wallet",
            )
            due = float(read_status(status_file)["next_run_at"])
            if due - time.time() < interval * 0.5:  # a post-backup wallet needs time to be made and funded
                due += interval
            funded = api.wallet("TRX", "post-backup canary")
            devnet.fund(funded["address"], FUNDING)
            canaries.record("funded wallet", f"/api/v1/wallets/{funded['wallet_id']}")
            paid = {"amount": SPEND, "currency": "TRX", "source_wallet_id": funded["wallet_id"],
                    "recipient_address": _new_address()}  # fmt: skip
            paid_key = str(uuid.uuid4())
            first = api.post("/api/v1/payouts/initiate", paid, key=paid_key)
            first_tx = _broadcast(api, first.json()["payout_id"]) if first.status_code == 202 else None
            if not first_tx:
                raise DrillCannotRun(
                    f"a canary payout was not broadcast: {first.status_code} {first.text[:160]}"
                )
            canaries.record("broadcast payout", f"/api/v1/payouts/{first.json()['payout_id']}", first_tx)
            lead = max(0.5, interval * 0.1)
            time.sleep(max(0.0, due - lead - time.time()))
            newest = read_status(status_file)["last_success"]
        with timeline.step("fault: store killed, its data removed") as step:
            _kill_store(state)
            fault_at = time.time()
            probe.start()
            shutil.rmtree(stack_dir / "store" / "databases", ignore_errors=True)
            step.notes.append(
                f"newest backup {newest['archive']}, {fault_at - newest['finished_at']:.1f} s old"
            )
        canaries.stop()
        port = int(state.part("store").url.rsplit(":", 1)[1])
        with timeline.step("store restarted, empty"):
            store = store_part(stack_dir, port).start()
            record_restart(stack_dir, store)
        client: MongoClient[Any] = MongoClient(store.url, serverSelectionTimeoutMS=5000)
        database = default_database()
        with timeline.step("restore the newest scheduled backup") as step:
            loaded = backup.load(DirectoryLocation(stack_dir / "backups"), newest["archive"], service_name())
            # force: the pods reconnect to the empty store at once and may have written (the seed's plan
            # scales them to 0 first; this drill keeps them up so RTO counts what clients see)
            restored = backup.restore(client, loaded, database, force=True)
            step.notes.append(", ".join(f"{k} {v}" for k, v in sorted(restored.items())))
        # at once: the restored settings say unfrozen, and the backup's unsent payouts may have been
        # sent after it (the seed's plan scales the pods to 0 instead; these stay up so RTO is what
        # clients see)
        with timeline.step("freeze payouts until the chain is reconciled"):
            _freeze(admin, True)
        try:
            with timeline.step("recover keys: escrowed wallets the backup lacks") as step:
                back = recover_wallets(client, database, key_escrow_dir(stack_dir))
                step.measured["wallets_recovered"] = len(back)
                step.check("post-backup wallet recovered", float(funded["wallet_id"] in back), "==", 1.0)
            with timeline.step("recover operations from the chain") as step:
                grid = TronGrid(state.url("devnet"), state.usdt_contract)
                since = int(newest["started_at"] * 1000)
                chain = recover_operations(client, database, grid, since)
                grid.close()
                step.measured["operations_recovered"] = len(chain.recovered)
                step.measured["operations_named_by_memo"] = len(chain.by_memo)
                step.measured["held_for_operator"] = len(chain.held)
                step.notes.append(
                    f"{len(chain.recovered)} recovered ({len(chain.by_memo)} by their memo), "
                    f"{len(chain.held)} held for an operator"
                )
                step.check("operations recovered from the chain", len(chain.recovered), ">=", 1)
            with timeline.step("canaries: RPO and writes lost") as step:
                rpo = canaries.rpo(fault_at)
                for kind, (seconds, lost, acked) in rpo.items():
                    key = kind.replace(" ", "_")
                    step.measured[f"rpo_{key}_seconds"] = round(seconds, 2) if seconds is not None else -1
                    step.measured[f"lost_{key}"] = lost
                    step.check(f"RPO {kind}", seconds, "<=", rpo_target, "s")
                    step.notes.append(f"{kind}: {acked - lost}/{acked} kept")
            with timeline.step("a client retries its idempotency key") as step:
                retry = api.post("/api/v1/payouts/initiate", paid, key=paid_key)
                retried = (
                    api.get(f"/api/v1/payouts/{retry.json()['payout_id']}").json()
                    if retry.status_code == 202
                    else {}
                )
                # the same id is no proof (ids derive from the key): a payout not settled by the first
                # transaction is a second payment waiting for the freeze to lift
                again = retry.status_code == 202 and retried.get("tx_id") != first_tx
                if again:  # frozen, so not sent: cancelled before payouts resume
                    cancel = {"payout_id": retry.json()["payout_id"], "reason": "DR drill: would pay twice"}
                    api.post("/api/v1/payouts/cancel", cancel)
                    step.notes.append(
                        "the retry made a new payout (cancelled by the drill while frozen): the service "
                        "cannot tell it from the chain-recovered one"
                    )
                else:
                    step.notes.append(
                        f"retry answered {retry.status_code} with payout "
                        f"{retried.get('payout_id') or retry.text[:160]} (tx {retried.get('tx_id')})"
                    )
                step.check("retried idempotency keys paid twice", float(again), "==", 0.0)
                fee = int(devnet.node("wallet/gettransactioninfobyid", {"value": first_tx}).get("fee", 0))
                step.measured["memo_fee_burned_sun"] = fee
                step.notes.append(f"the first payout's transaction burned {fee} SUN for its memo")
        finally:
            with timeline.step("payouts resume"):
                _freeze(admin, False)
        with timeline.step("serving again") as step:
            latency = ctx.latency_slo_seconds()
            recovered = wait_for(
                lambda: probe.recovered_at(RTO_WINDOW, latency), LOCAL_RTO_SECONDS * 2, "serving"
            )
            rto = recovered - fault_at
            step.measured["rto_seconds"] = round(rto, 2)
            step.check("RTO", rto, "<=", LOCAL_RTO_SECONDS, "s")
        with timeline.step("funds sent to the post-backup wallet are spendable") as step:
            payout = api.post(
                "/api/v1/payouts/initiate",
                {"amount": SPEND, "currency": "TRX", "source_wallet_id": funded["wallet_id"],
                 "recipient_address": _new_address()},
                key=str(uuid.uuid4()),
            )  # fmt: skip
            broadcast = payout.status_code == 202 and _broadcast(api, payout.json()["payout_id"]) is not None
            if broadcast:
                step.measured["first_payout_broadcast_seconds"] = round(time.time() - fault_at, 2)
            step.notes.append(
                f"payout: {payout.status_code} {'broadcast' if broadcast else payout.text[:160]}"
            )
            step.check("payout from the post-backup wallet broadcast", float(broadcast), "==", 1.0)
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
        with timeline.step("money audit: ledger against chain") as step:
            report = _audit(ctx, state, since_ms=int(started_at * 1000))
            step.measured["audit_findings"] = len(report.findings)
            step.notes.append(report.summary())
            step.notes.extend(str(f) for f in report.findings[:10])
            step.check("audit findings", len(report.findings), "==", 0)
            audit_text = "clean" if report.clean else f"{len(report.findings)} finding(s)"
    finally:
        canaries.stop()
        probe.stop()
    return {
        "rto": (timeline_measure(timeline, "rto_seconds"), LOCAL_RTO_SECONDS),
        "rpo": {kind: (seconds, rpo_target) for kind, (seconds, _, _) in rpo.items()},
        "lost": sum(lost for _, lost, _ in rpo.values()),
        "memo_fee_sun": timeline_measure(timeline, "memo_fee_burned_sun"),
        "audit": audit_text,
    }


def _audit(ctx: DrillContext, state: StackState, since_ms: int) -> Any:
    """The money checker (harness/audit), through the contract: admin ledger against the devnet's chain."""
    from harness.audit.run import audit
    from harness.tokens import mint_token

    token = mint_token(ctx.secret(), "drill-audit", ["admin"], 600)
    return audit(
        state.service_url, token, state.url("devnet"), state.usdt_contract,
        since_ms=since_ms, stuck_after_ms=AUDIT_STUCK_AFTER_MS, settle_s=AUDIT_SETTLE_S,
    )  # fmt: skip


def _freeze(admin: Api, frozen: bool) -> None:
    """Set the payout freeze, waiting out a service that is not ready yet (the store just came back):
    refused for FREEZE_WAIT_S is a drill that cannot run."""
    body = {"frozen": frozen, "reason": "DR drill: restore"}

    def answered() -> Any:
        try:
            answer = admin.http.put("/api/v1/admin/payouts/freeze", json=body)
        except httpx.HTTPError:
            return None
        return answer if answer.status_code < 500 else None  # 503: no ready pod yet

    try:
        answer = wait_for(answered, FREEZE_WAIT_S, "the service to take the payout freeze")
    except TimeoutError as error:
        raise DrillCannotRun(f"payout freeze refused for {FREEZE_WAIT_S:g} s: {error}") from error
    if answer.status_code != 200:
        raise DrillCannotRun(f"payout freeze refused: {answer.status_code} {answer.text[:160]}")


def _broadcast(api: Api, payout_id: str) -> str | None:
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
