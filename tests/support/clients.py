"""Thin HTTP clients the tests drive the service and the devnet with: only the public contract."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from service.auth import mint_token
from tests.support.waiting import wait_for


class Api:
    """The payment API as one user sees it."""

    def __init__(
        self, base_url: str, secret: str, sub: str | None = None, roles: tuple[str, ...] = ("admin",)
    ):
        self.base_url = base_url
        self.sub = sub or f"user-{uuid.uuid4().hex[:8]}"
        self.token = mint_token(secret, self.sub, roles)
        self.http = httpx.Client(
            base_url=base_url, timeout=30.0, headers={"Authorization": f"Bearer {self.token}"}
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, json: Any = None, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post(path, json=json, headers=headers, **kwargs)

    def wallet(self, currency: str = "TRX", name: str = "test wallet") -> dict[str, Any]:
        response = self.post("/api/v1/wallets", {"name": name, "currency": currency})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def wait_status(self, path: str, statuses: tuple[str, ...], timeout: float = 30.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            body = self.get(path).json()
            return body if body.get("status") in statuses else None

        return wait_for(probe, timeout, f"{path} to reach {statuses}")


class Devnet:
    """The devnet's control API: faucet and faults."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def info(self) -> dict[str, Any]:
        return dict(self.http.get("/control/info").json())

    def fund(self, address: str, amount: int, currency: str = "TRX") -> str:
        response = self.http.post(
            "/control/faucet", json={"address": address, "amount": amount, "currency": currency, "wait": True}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["txid"])

    def control(self, fault: str, body: dict[str, Any]) -> None:
        response = self.http.post(f"/control/{fault}", json=body)
        assert response.status_code == 200, response.text

    def reset(self) -> None:
        self.control("reset-faults", {})

    def node(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.http.post(f"/{method}", json={**body, "visible": True}).json())
