"""Wallets: custodial, per-user, soft-deleted; balances come from the chain."""

from __future__ import annotations

from collections.abc import Callable

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for


def test_wallet_lifecycle_and_privacy(api_as: Callable[..., Api], devnet: Devnet) -> None:
    alice, bob = api_as("user"), api_as("user")
    wallet = alice.wallet("TRX", "savings")
    assert wallet["network"] == "TRON" and wallet["balance"] == "0.000000" and wallet["is_active"]
    assert set(wallet) >= {"wallet_id", "user_id", "name", "address", "currency", "created_at", "updated_at"}
    assert not any("key" in field for field in wallet), "key material must never be returned"

    devnet.fund(wallet["address"], 2_500_000)
    path = f"/api/v1/wallets/{wallet['wallet_id']}"
    balance = wait_for(
        lambda: (b := alice.get(f"{path}/balance").json())["balance"] == "2.500000" and b,
        10,
        "the funded balance",
    )
    assert balance["currency"] == "TRX" and balance["address"] == wallet["address"]

    assert bob.get(path).status_code == 404, "another user's wallet must look absent"
    assert [w["wallet_id"] for w in alice.get("/api/v1/wallets").json()["wallets"]] == [wallet["wallet_id"]]
    assert bob.get("/api/v1/wallets").json()["pagination"]["total"] == 0

    renamed = alice.http.put(path, json={"name": "renamed", "is_active": False}).json()
    assert renamed["name"] == "renamed" and renamed["is_active"] is False
    assert alice.http.delete(path).status_code == 204
    assert alice.get(path).status_code == 404
    assert alice.get("/api/v1/wallets").json()["pagination"]["total"] == 0


def test_wallet_listing_paginates_and_filters(api: Api) -> None:
    for index in range(5):
        api.wallet("USDT" if index % 2 else "TRX", f"w{index}")
    page = api.get("/api/v1/wallets", params={"page": 2, "limit": 2}).json()
    assert page["pagination"] == {"page": 2, "limit": 2, "total": 5, "pages": 3}
    assert len(page["wallets"]) == 2
    usdt = api.get("/api/v1/wallets", params={"currency": "USDT"}).json()
    assert usdt["pagination"]["total"] == 2 and {w["currency"] for w in usdt["wallets"]} == {"USDT"}
