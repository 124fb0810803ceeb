"""Bad input gets a 4xx in the error format that names what to fix, and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from tests.e2e.test_payouts import new_address

ADDRESS = "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"  # valid checksum


def _counts(api: Api) -> tuple[int, int]:
    wallets = api.get("/api/v1/wallets").json()["pagination"]["total"]
    payouts = api.get("/api/v1/payouts/history").json()["pagination"]["total"]
    return wallets, payouts


CASES: list[tuple[str, str, Any, str]] = [
    ("POST", "/api/v1/wallets", {"name": "", "currency": "TRX"}, "name"),
    ("POST", "/api/v1/wallets", {"name": "x" * 256, "currency": "TRX"}, "name"),
    ("POST", "/api/v1/wallets", {"name": "a", "currency": "BTC"}, "currency"),
    ("POST", "/api/v1/wallets", {"name": "a", "currency": "TRX", "private_key": "00" * 32}, "key material"),
    ("POST", "/api/v1/wallets", ["not", "an", "object"], "JSON object"),
    # A typo in an optional field is refused, not dropped: the move would differ from what was meant.
    ("POST", "/api/v1/wallets", {"name": "a", "currency": "TRX", "colour": "red"}, "colour"),
    (
        "POST",
        "/api/v1/payouts/batch",
        {
            "payouts": [
                {
                    "recipient_address": ADDRESS,
                    "amount": "1",
                    "currency": "TRX",
                    "source_wallet_id": str(uuid.uuid4()),
                    "memmo": "typo",
                }
            ]
        },
        "payouts[0].memmo",
    ),
    (
        "POST",
        "/api/v1/payouts/initiate",
        {
            "recipient_address": "T123",
            "amount": "1",
            "currency": "TRX",
            "source_wallet_id": str(uuid.uuid4()),
        },
        "recipient_address",
    ),
    (
        "POST",
        "/api/v1/payouts/initiate",
        {
            "recipient_address": ADDRESS,
            "amount": "1.0000001",
            "currency": "TRX",
            "source_wallet_id": str(uuid.uuid4()),
        },
        "6 decimal places",
    ),
    (
        "POST",
        "/api/v1/payouts/initiate",
        {
            "recipient_address": ADDRESS,
            "amount": "-1",
            "currency": "TRX",
            "source_wallet_id": str(uuid.uuid4()),
        },
        "negative",
    ),
    (
        "POST",
        "/api/v1/payouts/initiate",
        {
            "recipient_address": ADDRESS,
            "amount": "0",
            "currency": "TRX",
            "source_wallet_id": str(uuid.uuid4()),
        },
        "greater than zero",
    ),
    (
        "POST",
        "/api/v1/payouts/initiate",
        {
            "recipient_address": ADDRESS,
            "amount": "NaN",
            "currency": "TRX",
            "source_wallet_id": str(uuid.uuid4()),
        },
        "amount",
    ),
    (
        "POST",
        "/api/v1/payouts/initiate",
        {"recipient_address": ADDRESS, "amount": "1", "currency": "TRX", "source_wallet_id": "nope"},
        "source_wallet_id",
    ),
    (
        "POST",
        "/api/v1/payouts/initiate",
        {
            "recipient_address": ADDRESS,
            "amount": "1",
            "currency": "TRX",
            "priority": "urgent",
            "source_wallet_id": str(uuid.uuid4()),
        },
        "priority",
    ),
    ("POST", "/api/v1/payouts/batch", {"payouts": []}, "payouts"),
    ("POST", "/api/v1/payouts/batch", {"payouts": [{"amount": "1"}] * 101}, "payouts"),
    ("GET", "/api/v1/wallets?page=0", None, "page"),
    ("GET", "/api/v1/wallets?limit=101", None, "limit"),
    ("GET", "/api/v1/payouts/history?start_date=yesterday", None, "start_date"),
    *[
        (
            "POST",
            "/api/v1/payments/process",
            {
                "recipient_address": ADDRESS,
                "amount": "1",
                "currency": "TRX",
                "source_wallet_id": str(uuid.uuid4()),
                "callback_url": url,
            },
            "callback_url",
        )
        for url in ("ftp://hooks.example.com/x", "https://user:pw@hooks.example.com/x")
    ],
    ("GET", "/api/v1/payouts/not-a-uuid", None, "payout_id"),
    ("GET", "/api/v1/usdt/balance/0x1234", None, "address"),
    ("GET", "/api/v1/staking/rewards/" + ADDRESS + "?period=hourly", None, "period"),
    ("GET", "/api/v1/payments/reconciliation?date=2026-13-01", None, "date"),
]


@pytest.mark.parametrize(("method", "path", "body", "names"), CASES)
def test_bad_input_is_named_and_changes_nothing(
    method: str, path: str, body: Any, names: str, api: Api
) -> None:
    error = _refused(api, method, path, body, 400)
    assert error["code"] == "LUCID_ERR_9005" and names in error["message"], error


def _refused(api: Api, method: str, path: str, body: Any, status: int) -> dict[str, Any]:
    """The error a request gets, asserting its status and that it changed nothing."""
    before = _counts(api)
    response = api.http.request(method, path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == status, response.text
    assert _counts(api) == before
    return dict(response.json()["error"])


def test_idempotency_key_is_required_where_money_moves(api_as: Callable[..., Api], devnet: Devnet) -> None:
    """Every POST that moves money: without the header, a 400 naming it, and no operation recorded
    (a client's timeout and retry would otherwise move the money twice)."""
    # Its own user without `admin`, so its wallet's history holds only what this test did.
    manager = api_as("payout_manager", "payment_manager", "staking_manager")
    wallet, usdt = manager.wallet("TRX"), manager.wallet("USDT")
    devnet.fund(wallet["address"], 5_000_000)
    move = {"recipient_address": new_address(), "amount": "1", "currency": "TRX"}
    moves = {
        "/api/v1/payouts/initiate": {**move, "source_wallet_id": wallet["wallet_id"]},
        "/api/v1/payouts/batch": {"payouts": [{**move, "source_wallet_id": wallet["wallet_id"]}]},
        "/api/v1/payments/process": {**move, "source_wallet_id": wallet["wallet_id"]},
        "/api/v1/payments/refund": {"payment_id": str(uuid.uuid4()), "reason": "x"},
        "/api/v1/usdt/transfer": {
            "from_address": usdt["address"],
            "to_address": new_address(),
            "amount": "1",
        },
        "/api/v1/usdt/approve": {
            "owner_address": usdt["address"],
            "spender_address": new_address(),
            "amount": "1",
        },
        "/api/v1/staking/stake": {"wallet_address": wallet["address"], "amount": "1", "resource": "ENERGY"},
        "/api/v1/staking/unstake": {"wallet_address": wallet["address"], "amount": "1", "resource": "ENERGY"},
        "/api/v1/staking/withdraw": {"wallet_address": wallet["address"]},
    }
    for path, body in moves.items():
        response = manager.post(path, body)
        assert response.status_code == 400, (path, response.text)
        assert "Idempotency-Key" in response.json()["error"]["message"], path
    for moved_from in (wallet, usdt):
        history = manager.get(f"/api/v1/wallets/{moved_from['wallet_id']}/transactions").json()
        assert history["pagination"]["total"] == 0, history


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            "/api/v1/payouts/initiate",
            {
                "recipient_address": ADDRESS[:-1] + "9",
                "amount": "1",
                "currency": "TRX",
                "source_wallet_id": str(uuid.uuid4()),
            },
            "recipient_address",
        ),
        ("GET", f"/api/v1/usdt/balance/{ADDRESS[:-1]}9", None, "address"),
        ("GET", f"/api/v1/usdt/allowance?owner={ADDRESS}&spender={ADDRESS[:-1]}9", None, "spender"),
    ],
)
def test_a_well_formed_address_with_a_wrong_checksum_is_not_found(
    method: str, path: str, body: Any, field: str, api: Api
) -> None:
    """[decided] Shaped as the document's pattern says, so not malformed: it names no account, 404."""
    error = _refused(api, method, path, body, 404)
    assert error["code"] == "LUCID_ERR_0404" and error["message"].startswith(f"{field}: ")
    assert "checksum" in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/payouts/history?start_date=2026-02-01&end_date=2026-01-01",
        f"/api/v1/usdt/transactions/{ADDRESS}?start_time=2026-02-01&end_time=2026-01-01",
        "/api/v1/admin/ledger?since=2026-02-01&until=2026-01-01",
    ],
)
def test_a_window_that_ends_before_it_starts_is_empty(path: str, api: Api) -> None:
    """[decided] Each bound is valid alone and no schema relates two parameters: an empty answer."""
    answer = api.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.json()["pagination"]["total"] == 0


def test_malformed_json_is_a_clear_400(api: Api) -> None:
    response = api.http.post(
        "/api/v1/wallets", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "JSON object" in response.json()["error"]["message"]


def test_a_refused_post_leaves_the_connection_usable(api: Api) -> None:
    # A 4xx decided before the body is read must still consume it: otherwise the server drops the
    # kept-alive connection and the client's next request on it fails.
    body = {
        "recipient_address": ADDRESS,
        "amount": "1",
        "currency": "TRX",
        "source_wallet_id": str(uuid.uuid4()),
        "memo": "x" * 20_000,
    }
    for _ in range(40):
        assert api.post("/api/v1/payouts/initiate", body).status_code == 400
        assert api.get("/api/v1/payouts/history").status_code == 200
