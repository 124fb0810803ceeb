"""The load's users: each behaves like one of production's API clients (Locust's FastHttpUser).

A user has its own identity (a token minted per user, so each stays inside its own rate limits), makes
its test data through the API (a TRX and a USDT wallet, funded from the devnet's faucet), then paces
itself to one request every `pace_seconds`, picked by loadtests/mix.py's weights: reads of wallets,
balances, payout, transfer and payment status and the network, and writes: wallets, payouts and
payments (each with an Idempotency-Key, retried with the same key after a timeout, as a careful client
does), USDT transfers and stakes. In read-only mode there are no writes, and a read that needs an id
the user has none of reads its group's list instead.

Imports Locust: only a Locust process loads this module.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from locust import FastHttpUser, task
from locust.contrib.fasthttp import ResponseContextManager
from tronpy.keys import PrivateKey

from harness.clients.devnet import Devnet
from harness.tokens import mint_token
from loadtests import mix
from loadtests.profiles import profiles
from loadtests.recorder import RECORDER

ROLES = ("user", "payout_manager", "staking_manager", "payment_manager")
# Test data, in base units: enough for a half-hour soak of this user's payouts, payments, stakes and
# transfers, and their fees.
FUND_TRX_SUN = 20_000 * 1_000_000
FUND_USDT = 1_000 * 1_000_000
# Recipients: fresh addresses, so each balance read misses the cache as a new customer's would.
RECIPIENTS = [str(PrivateKey.random().public_key.to_base58check_address()) for _ in range(64)]
# A careful client's patience with a money move before it retries the same request with the same key.
MOVE_TIMEOUT_S = 10.0
SETUP_PATIENCE_S = 120.0  # longer than any experiment's fault: a user's setup outlives the outage
SETTINGS = RECORDER.settings


class Client(FastHttpUser):
    """One API client of the payment service."""

    abstract = True
    network_timeout = MOVE_TIMEOUT_S
    connection_timeout = 5.0
    pace_seconds = profiles()["smoke"].pace_seconds

    def on_start(self) -> None:
        self.sub = f"load-{uuid.uuid4().hex[:12]}"
        token = SETTINGS.token or mint_token(SETTINGS.jwt_secret or "", self.sub, ROLES, ttl_s=24 * 3600)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ids: dict[str, list[str]] = {"wallet": [], "payout": [], "transfer": [], "payment": []}
        self.trx_wallet: dict[str, Any] = {}
        self.usdt_wallet: dict[str, Any] = {}
        if not SETTINGS.read_only:
            self._make_test_data()
        self._iteration_started = time.monotonic()

    def wait_time(self) -> float:
        """Constant pacing, noting each late iteration: a user that cannot keep its pace sends less
        than the profile meant, and latencies it did not live through go unmeasured (coordinated
        omission); the report says so rather than hiding it."""
        now = time.monotonic()
        active = now - self._iteration_started
        wait = max(0.0, self.pace_seconds - active)
        RECORDER.iteration(active + wait, late=active > self.pace_seconds)
        self._iteration_started = now + wait
        return wait

    # ---- test data ----------------------------------------------------------------------------------

    def _make_test_data(self) -> None:
        self.trx_wallet = self._setup_wallet("TRX")
        self.usdt_wallet = self._setup_wallet("USDT")
        self.ids["wallet"] += [self.trx_wallet["wallet_id"], self.usdt_wallet["wallet_id"]]
        with Devnet(SETTINGS.devnet_url or "") as devnet:
            devnet.fund(self.usdt_wallet["address"], FUND_USDT, "USDT")
            devnet.fund(self.usdt_wallet["address"], FUND_TRX_SUN)  # the transfers' energy and bandwidth
            devnet.fund(self.trx_wallet["address"], FUND_TRX_SUN)

    def _setup_wallet(self, currency: str) -> dict[str, Any]:
        """A test wallet; an outage at the start (a chaos run's fault) is waited out, for a while, so
        the user joins the load when the service answers again instead of leaving it for good."""
        body = {"name": f"load {currency}", "currency": currency}
        deadline = time.monotonic() + SETUP_PATIENCE_S
        while True:
            with self.client.post(
                "/api/v1/wallets", json=body, headers=self.headers, context={"setup": True},
                name="setup: POST /api/v1/wallets", catch_response=True,
            ) as response:  # fmt: skip
                if response.status_code == 201:
                    return dict(response.json())
                response.failure(f"creating a test wallet: {response.status_code}")
                passing = response.status_code in (0, 429) or response.status_code >= 500
                if not passing or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"cannot create a {currency} wallet: {response.status_code} {response.text}"
                    )
                # no answer at all (status 0) comes with no headers
                pause = min(10.0, float((response.headers or {}).get("Retry-After") or 1.0))
            time.sleep(pause)  # gevent's, under Locust

    # ---- requests -----------------------------------------------------------------------------------

    def get(self, path: str, name: str) -> None:
        self.client.get(path, headers=self.headers, name=name)

    def move(self, path: str, body: dict[str, Any], kind: str | None) -> None:
        """A money move with an Idempotency-Key; after a timeout or a lost connection the same request
        again with the same key (the service must answer with the first one's result, not move twice)."""
        key = str(uuid.uuid4())
        headers = {**self.headers, "Idempotency-Key": key}
        name = f"POST {path}"
        for _attempt in range(2):
            with self.client.post(path, json=body, headers=headers, name=name, catch_response=True) as answer:
                if answer.status_code == 0:  # no answer: timed out or the connection was lost
                    answer.failure(f"no answer within {MOVE_TIMEOUT_S} s: retrying with the same key")
                    continue
                self._accepted(answer, kind, key)
                return

    def _accepted(self, answer: ResponseContextManager, kind: str | None, key: str) -> None:
        if answer.status_code != 202:
            answer.failure(f"expected 202, got {answer.status_code}: {(answer.text or '')[:200]}")
            return
        RECORDER.money_moved()
        body = answer.json()
        if kind == "payout":
            RECORDER.payout_accepted(body["payout_id"], key)
            self.ids["payout"].append(body["payout_id"])
        elif kind is not None:
            self.ids[kind].append(body[f"{kind}_id"])

    def known(self, kind: str) -> str | None:
        """One of this user's ids of `kind` (the newest few, as a client checks what it just did)."""
        return random.choice(self.ids[kind][-16:]) if self.ids[kind] else None

    def address(self) -> str:
        return str(self.trx_wallet.get("address") or random.choice(RECIPIENTS))


# One function per entry of loadtests/mix.py, by its name.
Journey = Callable[[Client], None]


def _by_id(kind: str, template: str, fallback: str) -> Journey:
    """GET one of the user's own `kind`s; without one yet (read-only), its group's list."""

    def journey(user: Client) -> None:
        known = user.known(kind)
        if known is None:
            user.get(fallback, f"GET {fallback}")
        else:
            user.get(template.replace("{id}", known), f"GET {template.replace('{id}', '{' + kind + '_id}')}")

    return journey


def _fixed(path: str) -> Journey:
    return lambda user: user.get(path, f"GET {path}")


def _new_wallet(user: Client) -> None:
    with user.client.post(
        "/api/v1/wallets", json={"name": "load extra", "currency": "TRX"}, headers=user.headers,
        name="POST /api/v1/wallets", catch_response=True,
    ) as answer:  # fmt: skip
        if answer.status_code == 201:
            user.ids["wallet"].append(answer.json()["wallet_id"])
        else:
            answer.failure(f"expected 201, got {answer.status_code}")


def _payout(user: Client) -> None:
    body = {
        "recipient_address": random.choice(RECIPIENTS),
        "amount": "0.001",
        "currency": "TRX",
        "priority": "normal",
        "source_wallet_id": user.trx_wallet["wallet_id"],
    }
    user.move("/api/v1/payouts/initiate", body, "payout")


def _payment(user: Client) -> None:
    body = {
        "amount": "0.001",
        "currency": "TRX",
        "recipient_address": random.choice(RECIPIENTS),
        "source_wallet_id": user.trx_wallet["wallet_id"],
    }
    user.move("/api/v1/payments/process", body, "payment")


def _transfer(user: Client) -> None:
    body = {
        "from_address": user.usdt_wallet["address"],
        "to_address": random.choice(RECIPIENTS),
        "amount": "0.01",
    }
    user.move("/api/v1/usdt/transfer", body, "transfer")


def _stake(user: Client) -> None:
    body = {"wallet_address": user.trx_wallet["address"], "amount": "1", "resource": "ENERGY"}
    user.move("/api/v1/staking/stake", body, None)


JOURNEYS: dict[str, Journey] = {
    "GET /api/v1/tron/network/status": _fixed("/api/v1/tron/network/status"),
    "GET /api/v1/tron/network/info": _fixed("/api/v1/tron/network/info"),
    "GET /api/v1/tron/network/height": _fixed("/api/v1/tron/network/height"),
    "GET /api/v1/tron/network/fees": _fixed("/api/v1/tron/network/fees"),
    "GET /api/v1/wallets": _fixed("/api/v1/wallets"),
    "GET /api/v1/wallets/{wallet_id}": _by_id("wallet", "/api/v1/wallets/{id}", "/api/v1/wallets"),
    "GET /api/v1/wallets/{wallet_id}/balance": _by_id(
        "wallet", "/api/v1/wallets/{id}/balance", "/api/v1/wallets"
    ),
    "GET /api/v1/wallets/{wallet_id}/transactions": _by_id(
        "wallet", "/api/v1/wallets/{id}/transactions", "/api/v1/wallets"
    ),
    "POST /api/v1/wallets": _new_wallet,
    "GET /api/v1/usdt/balance/{address}": lambda user: user.get(
        f"/api/v1/usdt/balance/{random.choice(RECIPIENTS)}", "GET /api/v1/usdt/balance/{address}"
    ),
    "GET /api/v1/usdt/allowance": lambda user: user.get(
        f"/api/v1/usdt/allowance?owner={user.address()}&spender={RECIPIENTS[0]}", "GET /api/v1/usdt/allowance"
    ),
    "GET /api/v1/usdt/transfers/{transfer_id}": _by_id(
        "transfer", "/api/v1/usdt/transfers/{id}", f"/api/v1/usdt/balance/{RECIPIENTS[1]}"
    ),
    "POST /api/v1/usdt/transfer": _transfer,
    "GET /api/v1/payouts/{payout_id}": _by_id("payout", "/api/v1/payouts/{id}", "/api/v1/payouts/history"),
    "GET /api/v1/payouts/history": _fixed("/api/v1/payouts/history"),
    "POST /api/v1/payouts/initiate": _payout,
    "GET /api/v1/staking/status/{address}": lambda user: user.get(
        f"/api/v1/staking/status/{user.address()}", "GET /api/v1/staking/status/{address}"
    ),
    "GET /api/v1/staking/rewards/{address}": lambda user: user.get(
        f"/api/v1/staking/rewards/{user.address()}?period=daily", "GET /api/v1/staking/rewards/{address}"
    ),
    "POST /api/v1/staking/stake": _stake,
    "GET /api/v1/payments/{payment_id}": _by_id(
        "payment", "/api/v1/payments/{id}", "/api/v1/payments/reconciliation"
    ),
    "GET /api/v1/payments/reconciliation": _fixed("/api/v1/payments/reconciliation"),
    "POST /api/v1/payments/process": _payment,
}


class ApiClient(Client):
    """The load's user, with the mix's weights (writes only when the run may move money).

    Each user deals its journeys from a shuffled deck holding each one `weight` times, rather than
    drawing at random with replacement as Locust's weighted tasks do: the mix then holds in every
    stretch of a run, and a short run's per-group throughput is not at the mercy of chance."""

    pace_seconds = profiles()[SETTINGS.profile].pace_seconds if SETTINGS.profile in profiles() else 0.4
    DECK: ClassVar[list[Journey]] = [
        JOURNEYS[request.name] for request in mix.mix(SETTINGS.read_only) for _ in range(request.weight)
    ]

    @task
    def next_journey(self) -> None:
        if not getattr(self, "deck", None):
            self.deck = random.sample(self.DECK, len(self.DECK))
        self.deck.pop()(self)
