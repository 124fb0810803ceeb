"""Canary writes for RPO, and the recovery probe for RTO.

Canaries: every acknowledged write is recorded (kind, sequence, time acknowledged, what to look up);
after recovery each is looked up through the API. RPO per kind = fault time - the newest acknowledged
write still present; writes lost = acknowledged and gone.

Probe: requests from the fault on; RTO = fault -> the first of N consecutive requests that succeed
within the latency SLO (alerts/slos.yaml), not "process running".
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from harness.clients.api import Api
from harness.waiting import wait_for

MAX_WRITES = 2000  # bounded: a canary loop stops by itself
# How long a lookup waits for the service to answer at all: just after a restore the pods may still be
# reconnecting to the store (503) and the mesh may hold no ready endpoint (a 503 in plain text, as
# Envoy's "no healthy upstream"); neither says whether a write survived.
ANSWER_WAIT_S = 60.0
# Longer than the service takes to give up on a store that does not answer (its socket timeout, 10 s),
# so that its 503 is heard rather than cut off.
LOOKUP_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Ack:
    kind: str
    seq: int
    at: float
    lookup: str  # the API path that shows the write
    tx_id: str | None = None  # a money move: also present when the admin ledger holds its transaction


class _Background:
    """One daemon thread running `_loop` until `stop` (which waits for it)."""

    _stop: threading.Event
    _thread: threading.Thread | None

    def start(self) -> Self:
        self._stop, self._thread = threading.Event(), threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if getattr(self, "_thread", None) is not None:
            self._stop.set()
            assert self._thread is not None
            self._thread.join(timeout=40)

    def _loop(self) -> None:
        raise NotImplementedError


@dataclass
class Canaries(_Background):
    api: Api
    admin: Api | None = None  # reads the ledger (GET /admin/ledger) for money moves the chain gave back
    pace_s: float = 0.25
    acks: list[Ack] = field(default_factory=list)

    def record(self, kind: str, lookup: str, tx_id: str | None = None) -> None:
        self.acks.append(Ack(kind, len(self.acks), time.time(), lookup, tx_id))

    def _loop(self) -> None:
        for _ in range(MAX_WRITES):
            if self._stop.wait(self.pace_s):
                return
            try:
                answer = self.api.post(
                    "/api/v1/wallets", {"name": f"canary-{uuid.uuid4().hex[:6]}", "currency": "TRX"}
                )
            except httpx.HTTPError:
                continue  # not acknowledged: not a write the RPO counts
            if answer.status_code == 201:
                self.record("wallet", f"/api/v1/wallets/{answer.json()['wallet_id']}")

    def present(self, ack: Ack) -> bool:
        if _lookup(self.api, ack.lookup).status_code == 200:
            return True
        return ack.tx_id is not None and self.admin is not None and ack.tx_id in self._ledger_tx_ids(ack.at)

    def _ledger_tx_ids(self, since: float) -> set[str]:
        assert self.admin is not None
        found: set[str] = set()
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since - 3600))
        for page in range(1, 101):  # bounded: 10,000 operations
            body = _lookup(
                self.admin, "/api/v1/admin/ledger", params={"since": start, "page": page, "limit": 100}
            ).json()
            found.update(op["tx_id"] for op in body.get("operations", []) if op.get("tx_id"))
            if len(body.get("operations", [])) < 100:
                break
        return found

    def rpo(self, fault_at: float) -> dict[str, tuple[float | None, int, int]]:
        """kind -> (RPO seconds or None when every write of it is lost, writes lost, writes acknowledged)."""
        report: dict[str, tuple[float | None, int, int]] = {}
        for kind in sorted({a.kind for a in self.acks}):
            before = [a for a in self.acks if a.kind == kind and a.at <= fault_at]
            kept = [a for a in before if self.present(a)]
            newest = max((a.at for a in kept), default=None)
            report[kind] = (
                None if newest is None else max(0.0, fault_at - newest),
                len(before) - len(kept),
                len(before),
            )
        return report


def answered(
    send: Callable[[], httpx.Response], wait_s: float, what: str, interval: float = 0.1
) -> httpx.Response:
    """The service's answer to `send()` once it gives one (below 500), sent again for up to `wait_s`
    while it cannot (a 5xx, or no answer: no ready pod yet, the store just back): WaitTimeout after."""

    def ask() -> httpx.Response | None:
        try:
            response = send()
        except httpx.HTTPError:
            return None
        return response if response.status_code < 500 else None

    return wait_for(ask, wait_s, what, interval)


def _lookup(api: Api, path: str, **kwargs: Any) -> httpx.Response:
    """A lookup must not count a write as lost, nor read a body, while the service is not there to say."""
    return answered(
        lambda: api.get(path, timeout=LOOKUP_TIMEOUT_S, **kwargs),
        ANSWER_WAIT_S,
        f"an answer to GET {path} (5xx or none so far)",
        interval=0.5,
    )


@dataclass
class Probe(_Background):
    """Reads from the fault on, each timed, until stopped (bounded by `limit_s`). With `writes`, each
    request creates a wallet instead (a POST: the mesh never retries it, so no retry hides a failure)."""

    api: Api
    path: str = "/api/v1/wallets"
    pace_s: float = 0.1
    limit_s: float = 300.0
    writes: bool = False
    samples: list[tuple[float, bool, float]] = field(default_factory=list)  # (sent at, ok, seconds)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._stop.is_set() and time.monotonic() < deadline:
            sent = time.time()
            try:
                if self.writes:
                    body = {"name": "probe", "currency": "TRX"}
                    ok = self.api.post("/api/v1/wallets", body, timeout=10).status_code == 201
                else:
                    ok = self.api.get(self.path, timeout=10).status_code == 200
            except httpx.HTTPError:
                ok = False
            self.samples.append((sent, ok, time.time() - sent))
            self._stop.wait(self.pace_s)

    def recovered_at(self, window: int, latency_s: float, outage_from: float | None = None) -> float | None:
        """When the first of `window` consecutive requests within `latency_s` was answered (a request
        held through the outage counts from its answer, not from when it was sent); None if not yet.
        With `outage_from`: only requests sent from the first failure after that time (none failed:
        serving never stopped, so `outage_from`)."""
        samples = list(self.samples)
        if outage_from is not None:
            later = [s for s in samples if s[0] >= outage_from]
            first_bad = next((i for i, (_, ok, _) in enumerate(later) if not ok), None)
            if first_bad is None:
                return outage_from
            samples = later[first_bad:]
        run: list[float] = []
        for sent, ok, took in samples:
            run = [*run, sent + took] if ok and took <= latency_s else []
            if len(run) >= window:
                return run[0]
        return None
