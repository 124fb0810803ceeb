"""`tronops torture`: concurrent payout clients that retry with the same idempotency keys after timeouts,
while replicas are killed and the devnet's faults come and go; then the money audit, and coverage
counters that say whether the run tested what it claims.

Bounded everywhere: a fixed number of payouts, a fixed chaos time, bounded retries, and every fault
with a time to live (and all cleared at the end, also on error or Ctrl-C). Loopback targets only: it
needs the local stack's pods and devnet control.

Coverage counters, each from observable evidence (never the service's logs):
- kills_between_sign_and_record: pods killed (the pods API's proof) while the admin ledger showed a
  payout signed and not yet final (`processing` with a `tx_id`), read right before the kill;
- lost_answers: broadcasts the devnet took and never answered (its metric
  `tron_devnet_requests_total{path="/wallet/broadcasttransaction",code="lost"}`, this run's delta);
- expiration_answers: broadcasts answered TRANSACTION_EXPIRATION_ERROR (`tron_devnet_broadcasts_total`);
- lease_takeovers: operations a replica claimed after another's lease ran out (the service's
  `tron_operation_lease_takeovers_total`, summed over the pods alive at the end: a pod killed after
  taking over takes its count with it, so this can only undercount);
- idempotent_replays: answers to a retried request carrying `Idempotent-Replayed: true` (a client
  retries a key whose request timed out, was cut off, or whose 202 it treats as arriving too late;
  a replay naming another payout than the first answer is a finding).
A run where any of them is 0 did not test what it claims: it is not a pass.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.audit.findings import ACCEPTED_BUT_LOST, PAID_TWICE, Finding
from harness.audit.ledger import AdminApi
from harness.audit.run import Report, audit
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.clients.http import ControlError, metric_sum
from harness.clients.pods import Pods
from harness.waiting import wait_for

AMOUNT_SUN = 1_000_000  # each payout: 1 TRX
FEES_SUN = 2_000_000  # and its fees, at most: the memo fee (1 TRX on mainnet) and bandwidth
RETRYABLE = (409, 429, 500, 502, 503, 504)  # in progress, rate-limited, or the service/mesh failing


@dataclass(frozen=True)
class Settings:
    payouts: int = 40
    clients: int = 8
    seed: int = 1
    chaos_s: float = 75.0  # faults and kills this long; submissions spread over its first half
    request_timeout_s: float = 1.5  # a client gives up on an answer after this, then retries the key
    max_attempts: int = 12
    settle_s: float = 240.0  # after the chaos, every payout must be final within this
    # Broadcasts refused (SERVER_BUSY, share) long enough that a signed transaction outlives its
    # lifetime (the service's TX_LIFETIME_SECONDS, 60 s by default) and its re-send is an expiration.
    refusal_s: float = 70.0
    refusal_share: float = 0.85
    # Share of 202 answers a client treats as lost (they arrived after its timeout): it retries the key.
    answer_lost_share: float = 0.25


@dataclass
class Coverage:
    kills: int = 0
    kills_between_sign_and_record: int = 0
    lost_answers: int = 0
    expiration_answers: int = 0
    lease_takeovers: int = 0
    idempotent_replays: int = 0
    retries: int = 0
    faults: int = 0

    REQUIRED = (
        "kills_between_sign_and_record",
        "lost_answers",
        "expiration_answers",
        "lease_takeovers",
        "idempotent_replays",
    )

    def missing(self) -> list[str]:
        return [name for name in self.REQUIRED if getattr(self, name) == 0]


@dataclass
class Outcome:
    settings: Settings
    coverage: Coverage
    accepted: int
    refused: int  # answered with a 4xx that retrying cannot change
    gave_up: int  # no answer but 5xx / timeouts after every retry
    report: Report
    extra_findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [*self.report.findings, *self.extra_findings]

    @property
    def passed(self) -> bool:
        return not self.findings and not self.coverage.missing()

    def lines(self) -> list[str]:
        c = self.coverage
        out = [
            f"payouts: {self.settings.payouts} asked, {self.accepted} accepted, {self.refused} refused, "
            f"{self.gave_up} given up after {self.settings.max_attempts} attempts",
            f"retries: {c.retries}  kills: {c.kills}  faults: {c.faults}  time: {self.seconds:.0f} s",
            "coverage:",
            *(f"  {name}: {getattr(c, name)}" for name in Coverage.REQUIRED),
            *(f.line() for f in self.findings),
            self.report.summary(),
        ]
        missing = c.missing()
        verdict = "PASS" if self.passed else "FAIL"
        if missing:
            verdict += f" (not covered: {', '.join(missing)})"
        return [*out, verdict]


class Torture:
    def __init__(
        self, base_url: str, secret: str, pods: Pods, devnet: Devnet, usdt_contract: str, settings: Settings
    ) -> None:
        self.base_url, self.secret = base_url, secret
        self.pods, self.devnet, self.usdt_contract = pods, devnet, usdt_contract
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.coverage = Coverage()
        self.lock = threading.Lock()
        self.accepted: set[str] = set()
        self.managers: list[tuple[Api, dict[str, Any]]] = []
        self.broken_keys: list[Finding] = []
        self.refused = 0
        self.gave_up = 0
        self.admin_token = Api(base_url, secret, "torture-admin", ("admin",)).token

    # -- evidence -------------------------------------------------------------------------------
    def _devnet_counts(self) -> tuple[float, float]:
        text = self.devnet.http.get("/metrics").text
        lost = metric_sum(
            text, "tron_devnet_requests_total", path="/wallet/broadcasttransaction", code="lost"
        )
        expired = metric_sum(text, "tron_devnet_broadcasts_total", code="TRANSACTION_EXPIRATION_ERROR")
        return lost, expired

    def _takeovers(self) -> dict[int, float]:
        counts: dict[int, float] = {}
        for pod in self.pods.pods():
            try:
                text = httpx.get(f"{pod['url']}/metrics", timeout=5).text
            except httpx.HTTPError:
                continue  # a pod restarting right now: its count is lost either way
            counts[int(pod["pid"])] = metric_sum(text, "tron_operation_lease_takeovers_total")
        return counts

    def _in_flight(self, since_ms: int) -> bool:
        admin = AdminApi(self.base_url, self.admin_token)
        try:
            return any(op.status == "processing" and op.tx_id for op in admin.read(since_ms).operations)
        finally:
            admin.close()

    # -- the clients ----------------------------------------------------------------------------
    def _client(self, index: int, count: int, spread_s: float, rng: random.Random) -> None:
        # A user of its own (the contract's rate limits are per user) paying out of its own wallet.
        manager, wallet = self.managers[index]
        try:
            for _ in range(count):
                time.sleep(rng.uniform(0, 2 * spread_s / max(count, 1)))
                self._payout(manager, wallet, rng)
        finally:
            manager.http.close()

    def _payout(self, manager: Api, wallet: dict[str, Any], rng: random.Random) -> None:
        key = str(uuid.uuid4())
        body = {
            "recipient_address": _new_address(),
            "amount": str(AMOUNT_SUN / 1_000_000),
            "currency": "TRX",
            "source_wallet_id": wallet["wallet_id"],
        }
        first_id: str | None = None
        for attempt in range(self.settings.max_attempts):
            if attempt:
                with self.lock:
                    self.coverage.retries += 1
                time.sleep(min(4.0, 0.25 * 2**attempt))
            try:
                answer = manager.post(
                    "/api/v1/payouts/initiate", body, key=key, timeout=self.settings.request_timeout_s
                )
            except httpx.HTTPError:
                continue  # timed out or cut off: the same key again
            if answer.status_code in RETRYABLE:
                continue
            if answer.status_code != 202:
                with self.lock:
                    self.refused += 1
                return
            payout_id = str(answer.json()["payout_id"])
            with self.lock:
                self.accepted.add(payout_id)
                self.coverage.idempotent_replays += answer.headers.get("Idempotent-Replayed") == "true"
                if first_id is not None and payout_id != first_id:
                    self.broken_keys.append(
                        Finding(
                            PAID_TWICE, f"one Idempotency-Key answered {first_id} then {payout_id}", payout_id
                        )
                    )
            if first_id is None and rng.random() < self.settings.answer_lost_share:
                # The answer came back after this client's own timeout fired (or its process died
                # before reading it): as far as it knows, nothing was done, so it sends the key again.
                first_id = payout_id
                continue
            return
        with self.lock:
            if first_id is None:
                self.gave_up += 1  # retries exhausted: nothing was promised to this client

    # -- the chaos ------------------------------------------------------------------------------
    def _fault(self, name: str, ttl_s: float, **params: Any) -> None:
        self.devnet.set_fault(name, ttl_s, **params)
        self.coverage.faults += 1

    def _chaos_step(self, since_ms: int) -> None:
        action = self.rng.choice(
            ("kill", "kill", "lose_answer", "lag", "internal_error", "latency", "forget")
        )
        ttl = self.rng.uniform(2.0, 6.0)
        if action == "kill":
            if len(self.pods.ready()) < 2:
                return  # keep one replica serving: the clients' retries are bounded
            in_flight = self._in_flight(since_ms)
            self.pods.kill(count=1)
            self.coverage.kills += 1
            self.coverage.kills_between_sign_and_record += in_flight
        elif action == "lose_answer":
            # Every answer in the window, as a blip between the service and its node loses them (losing
            # half of them left a short run with as few as 2 lost answers).
            self._fault("lose_answer", ttl, share=1.0, mode="drop", seed=self.rng.randrange(1 << 30))
        elif action == "lag":
            self._fault("lag", ttl, seconds=4)
        elif action == "internal_error":
            self._fault("internal_error", ttl, share=0.3, seed=self.rng.randrange(1 << 30))
        elif action == "latency":
            self.devnet.control("latency", {"ms": int(self.settings.request_timeout_s * 1500), "ttl_s": ttl})
            self.coverage.faults += 1
        else:
            self.devnet.call("POST", "/control/forget-broadcasts", {})
            self.coverage.faults += 1

    def _chaos(self, since_ms: int, until: float) -> None:
        s = self.settings
        self._fault("refuse", s.refusal_s, code="SERVER_BUSY", share=s.refusal_share, seed=s.seed)
        while time.monotonic() < until:
            with contextlib.suppress(ControlError):  # refused under the chaos itself: the next step goes on
                self._chaos_step(since_ms)
            time.sleep(self.rng.uniform(0.8, 2.0))

    # -- the run --------------------------------------------------------------------------------
    def _wallets(self) -> None:
        """One payout manager per client, each with a funded TRX wallet of its own."""
        s = self.settings
        count = min(s.clients, s.payouts)
        per_wallet = -(-s.payouts // count)
        for i in range(count):
            manager = Api(self.base_url, self.secret, f"torture-{s.seed}-{i}", ("payout_manager",))
            wallet = manager.wallet("TRX", f"torture {i}")
            self.devnet.fund(wallet["address"], per_wallet * (AMOUNT_SUN + FEES_SUN) + 10_000_000)
            self.managers.append((manager, wallet))

    def run(self) -> Outcome:
        s = self.settings
        started = time.monotonic()
        self._wallets()
        since_ms = int(time.time() * 1000) - 1000
        lost0, expired0 = self._devnet_counts()
        takeovers0 = self._takeovers()
        count = len(self.managers)
        clients = [
            threading.Thread(
                target=self._client,
                args=(
                    i,
                    s.payouts // count + (i < s.payouts % count),
                    s.chaos_s / 2,
                    random.Random(s.seed * 1000 + i),
                ),
                name=f"torture-client-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        try:
            for client in clients:
                client.start()
            self._chaos(since_ms, time.monotonic() + s.chaos_s)
            for client in clients:
                client.join(timeout=s.max_attempts * 6.0)
        finally:
            self.devnet.reset()  # every fault off, also on error or Ctrl-C
        wait_for(lambda: len(self.pods.ready()) == len(self.pods.pods()), 60, "every pod ready again")
        lost1, expired1 = self._devnet_counts()
        self.coverage.lost_answers = int(lost1 - lost0)
        self.coverage.expiration_answers = int(expired1 - expired0)
        self.coverage.lease_takeovers = int(
            sum(n - takeovers0.get(pid, 0) for pid, n in self._takeovers().items())
        )
        report = audit(
            self.base_url,
            self.admin_token,
            self.devnet.url,
            self.usdt_contract,
            since_ms=since_ms,
            stuck_after_ms=0,
            lookback_ms=600_000,
            settle_s=s.settle_s,
        )
        admin = AdminApi(self.base_url, self.admin_token)
        try:
            recorded = {op.operation_id for op in admin.read(since_ms).operations}
        finally:
            admin.close()
        lost = [
            Finding(
                ACCEPTED_BUT_LOST, "a client was answered 202 for it; the ledger has no such operation", pid
            )
            for pid in sorted(self.accepted - recorded)
        ]
        return Outcome(
            s,
            self.coverage,
            len(self.accepted),
            self.refused,
            self.gave_up,
            report,
            [*self.broken_keys, *lost],
            time.monotonic() - started,
        )


def _new_address() -> str:
    from tronpy.keys import PrivateKey

    return str(PrivateKey.random().public_key.to_base58check_address())
