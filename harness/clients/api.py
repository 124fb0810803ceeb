"""The payment API as one user sees it: only the contract (../shared/API.md), with a minted token."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from harness.tokens import mint_token
from harness.waiting import wait_for


class ApiError(RuntimeError):
    """The service answered something other than what the contract promises for the call."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        super().__init__(f"{what}: {response.status_code} {response.text[:500]}")
        self.status = response.status_code


def _budget_pace(response: httpx.Response) -> float:
    """Seconds to wait before the next request so the rate-limit budget the response reports
    (X-RateLimit-Remaining requests until X-RateLimit-Reset seconds from now) lasts until it resets."""
    try:
        remaining = int(response.headers["X-RateLimit-Remaining"])
        reset = float(response.headers["X-RateLimit-Reset"])
    except (KeyError, ValueError):
        return 0.0
    return reset / (remaining + 1)


class Api:
    """One user of the payment API (an admin unless other roles are given)."""

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
        """POST `json`; `key` goes in the Idempotency-Key header every money move requires."""
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post(path, json=json, headers=headers, **kwargs)

    def wallet(self, currency: str = "TRX", name: str = "harness wallet") -> dict[str, Any]:
        """A new custodial wallet of the caller; ApiError unless the service created it (201)."""
        response = self.post("/api/v1/wallets", {"name": name, "currency": currency})
        if response.status_code != 201:
            raise ApiError(f"creating a {currency} wallet", response)
        return dict(response.json())

    def wait_status(self, path: str, statuses: tuple[str, ...], timeout: float = 30.0) -> dict[str, Any]:
        """GET `path` until its `status` is one of `statuses`; that body (WaitTimeout otherwise).
        Polls no faster than the caller's rate-limit budget lasts until its window resets, so a long
        wait does not spend the route group's minute and then see nothing but 429s."""
        deadline = time.monotonic() + timeout

        def probe() -> dict[str, Any] | None:
            response = self.get(path)
            time.sleep(max(0.0, min(_budget_pace(response), deadline - time.monotonic())))
            if response.status_code >= 500 or response.status_code == 429:  # unavailable or over the limit
                return None
            body = response.json()
            return body if body.get("status") in statuses else None

        return wait_for(probe, timeout, f"{path} to reach {statuses}")

    def close(self) -> None:
        self.http.close()
