"""Steady background traffic through a service's contract (live alert proofs, chaos, drills), in
threads; every loop is bounded in count and time and stops when asked.

Readers, one user each, go round GETs in every route group, so that every SLI and panel has requests
to count; network info and the USDT balance of an address never asked before (a cache miss) call the
TRON node on every request. The mover, with faucet-funded wallets, makes a TRX payout and a USDT
transfer in turn, so that the payout and transfer metrics exist. The hammer is one user going over
a route group's rate limit on purpose.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from tronpy.keys import PrivateKey

from harness import objectives
from harness.clients.api import Api
from harness.clients.devnet import Devnet

Read = Callable[[], str]  # the path of the next GET


def new_address() -> str:
    return str(PrivateKey.random().public_key.to_base58check_address())


def usdt_balance() -> str:
    return f"/api/v1/usdt/balance/{new_address()}"


READS: tuple[Read, ...] = (
    lambda: "/api/v1/wallets",
    lambda: "/api/v1/tron/network/status",
    lambda: "/api/v1/tron/network/info",
    usdt_balance,
    lambda: f"/api/v1/staking/rewards/{new_address()}",
    lambda: "/api/v1/payments/reconciliation",
    lambda: "/api/v1/payouts/history",
)
NODE_READS: tuple[Read, ...] = (usdt_balance,)
MOVE_PACE_S = 2.0  # a payout or a transfer every 2 s: several in each 10 s local rate window
MAX_SECONDS = 600.0  # longer than any run of the module: it only stops a stuck one
MAX_REQUESTS = 5_000  # per loop: its bound in count, as MAX_SECONDS is in time


def reader_pace_s(reads: tuple[Read, ...]) -> float:
    """Seconds between one user's requests so that it stays at half of the tightest limit among the
    groups it reads (staking: 50 a minute): the traffic itself is never rate limited."""
    facts = objectives.current()
    tightest = min(facts.rate_limit(facts.route_group(read())) for read in reads)
    return 60 / (tightest / 2) / len(reads)


class Tally:
    """Answers seen, by status ("timeout" or "error" when none came); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def add(self, status: str) -> None:
        with self._lock:
            self._counts[status] += 1

    def count(self, *statuses: str) -> int:
        """How many answers had one of `statuses` ("2" matches every 2xx); all of them without any."""
        with self._lock:
            return sum(n for status, n in self._counts.items() if status.startswith(statuses or ("",)))


def _status(send: Callable[..., httpx.Response], *args: Any, **kwargs: Any) -> str:
    try:
        return str(send(*args, **kwargs).status_code)
    except httpx.TimeoutException:
        return "timeout"
    except httpx.TransportError:
        return "error"


class TrafficStuck(RuntimeError):
    """A loop did not end after stop(): its thread is still running."""


class Loops:
    """Threads that each run one bounded loop until stop()."""

    def __init__(self) -> None:
        self.tally = Tally()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._deadline = time.monotonic() + MAX_SECONDS

    def running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    def pause(self, seconds: float) -> None:
        self._stop.wait(seconds)  # pacing, cut short by stop()

    def spawn(self, loop: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=loop, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self, timeout: float = 40.0) -> None:
        """Stop and join every loop; a request in flight ends by its client's timeout (30 s) at worst."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive:
            raise TrafficStuck(f"traffic loops still running {timeout} s after stop: {alive}")


class Readers(Loops):
    def __init__(self, base_url: str, secret: str, reads: tuple[Read, ...], users: int) -> None:
        super().__init__()
        self._reads = reads
        self._pace_s = reader_pace_s(reads)
        self._clients = [Api(base_url, secret, f"reader-{uuid.uuid4().hex[:8]}") for _ in range(users)]

    def start(self) -> Readers:
        for client in self._clients:
            self.spawn(functools.partial(self._read, client), client.sub)
        return self

    def _read(self, client: Api) -> None:
        for i in range(MAX_REQUESTS):
            if not self.running():
                return
            self.tally.add(_status(client.get, self._reads[i % len(self._reads)]()))
            self.pause(self._pace_s)


class Mover(Loops):
    def __init__(self, base_url: str, secret: str, devnet: Devnet) -> None:
        super().__init__()
        self._client = Api(base_url, secret, f"mover-{uuid.uuid4().hex[:8]}")
        self._devnet = devnet

    def start(self) -> Mover:
        trx, usdt = self._client.wallet("TRX"), self._client.wallet("USDT")
        # 1000 TRX: a payout costs 0.1 plus the memo fee (1 TRX on the local stack, as on mainnet)
        self._devnet.fund(trx["address"], 1_000_000_000)
        self._devnet.fund(usdt["address"], 100_000_000, "USDT")
        self._devnet.fund(usdt["address"], 1_000_000_000)  # TRX for the transfers' fees and memo fees
        self.spawn(functools.partial(self._move, trx["wallet_id"], usdt["address"]), "mover")
        return self

    def _move(self, trx_wallet_id: str, usdt_address: str) -> None:
        for i in range(MAX_REQUESTS):
            if not self.running():
                return
            if i % 2:
                path = "/api/v1/usdt/transfer"
                body = {"amount": "0.01", "from_address": usdt_address, "to_address": new_address()}
            else:
                path = "/api/v1/payouts/initiate"
                body = {
                    "amount": "0.1",
                    "currency": "TRX",
                    "source_wallet_id": trx_wallet_id,
                    "recipient_address": new_address(),
                }
            self.tally.add(_status(self._client.post, path, body, key=str(uuid.uuid4())))
            self.pause(MOVE_PACE_S)


class Hammer(Loops):
    """One user sending GET `path` every `pace_s` seconds: far past its group's limit."""

    def __init__(self, base_url: str, secret: str, path: str, pace_s: float = 0.05) -> None:
        super().__init__()
        self._client = Api(base_url, secret, f"hammer-{uuid.uuid4().hex[:8]}")
        self.user = self._client.sub
        self._path = path
        self._pace_s = pace_s

    def start(self) -> Hammer:
        self.spawn(self._hammer, "hammer")
        return self

    def _hammer(self) -> None:
        for _ in range(MAX_REQUESTS):
            if not self.running():
                return
            self.tally.add(_status(self._client.get, self._path))
            self.pause(self._pace_s)


class Payers(Loops):
    """Users paying out with an Idempotency-Key per payout, retrying each with the same key until an
    answer is kept: after a 5xx, a timeout or a broken connection, and, for a share of the accepted
    ones, after an answer lost on its way back (the client drops the 202 it got, as when a proxy or
    NAT resets the connection after the service answered). Each retry reaches the service again, so
    the service must replay the first answer rather than pay twice. `keys` maps every key to the
    payout ids the answers named; `replays` counts answers marked Idempotent-Replayed."""

    def __init__(
        self, base_url: str, secret: str, wallets: list[dict[str, Any]], lose_share: float, pace_s: float
    ) -> None:
        super().__init__()
        self._clients = [(Api(base_url, secret, wallet["user_id"]), wallet) for wallet in wallets]
        self._lose_every = round(1 / lose_share) if lose_share > 0 else 0
        self._pace_s = pace_s
        self._lock = threading.Lock()
        self.keys: dict[str, set[str]] = {}
        self.kept: dict[str, str] = {}  # key -> the payout id of the answer kept
        self.replays = 0
        self.lost = 0

    def start(self) -> Payers:
        for client, wallet in self._clients:
            self.spawn(functools.partial(self._pay, client, wallet["wallet_id"]), client.sub)
        return self

    def _pay(self, client: Api, wallet_id: str) -> None:
        for i in range(MAX_REQUESTS):
            if not self.running():
                return
            key = f"chaos-{uuid.uuid4()}"
            body = {"amount": "0.1", "currency": "TRX", "source_wallet_id": wallet_id,
                    "recipient_address": new_address()}  # fmt: skip
            lose = bool(self._lose_every) and i % self._lose_every == 0
            for attempt in range(40):  # a payout is retried for a while, not forever
                if attempt and not self.running():
                    break  # stopped: no new try (each may wait out the client's timeout), stop() is bounded
                status, payout_id, replayed = self._send(client, body, key)
                self.tally.add(status)
                with self._lock:
                    self.replays += replayed
                    if payout_id:
                        self.keys.setdefault(key, set()).add(payout_id)
                if status == "202" and payout_id and not lose:
                    with self._lock:
                        self.kept[key] = payout_id
                    break
                if status == "202":
                    lose = False  # this answer is the lost one; the retry's answer is kept
                    with self._lock:
                        self.lost += 1
                elif not status.startswith("5") and status not in ("timeout", "error", "409", "429"):
                    break  # refused for good (4xx): retrying the same request cannot help
                self.pause(0.3)
            self.pause(self._pace_s)

    @staticmethod
    def _send(client: Api, body: dict[str, Any], key: str) -> tuple[str, str | None, int]:
        try:
            response = client.post("/api/v1/payouts/initiate", body, key=key)
        except httpx.TimeoutException:
            return "timeout", None, 0
        except httpx.TransportError:
            return "error", None, 0
        payout_id = response.json().get("payout_id") if response.status_code == 202 else None
        return (
            str(response.status_code),
            payout_id,
            int(response.headers.get("Idempotent-Replayed") == "true"),
        )


class Creators(Loops):
    """One user creating a wallet every `pace_s`: a POST without an Idempotency-Key, which the mesh
    never retries, so any request a dying pod refuses is an error the user sees."""

    def __init__(self, base_url: str, secret: str, pace_s: float = 0.5) -> None:
        super().__init__()
        self._client = Api(base_url, secret, f"creator-{uuid.uuid4().hex[:8]}")
        self._pace_s = pace_s

    def start(self) -> Creators:
        self.spawn(self._create, "creator")
        return self

    def _create(self) -> None:
        for _ in range(MAX_REQUESTS):
            if not self.running():
                return
            self.tally.add(
                _status(self._client.post, "/api/v1/wallets", {"name": "chaos", "currency": "TRX"})
            )
            self.pause(self._pace_s)
