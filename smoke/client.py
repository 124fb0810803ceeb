"""The suite's one HTTP client: every request timed, no retries, and a deadline for the whole run."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from smoke.expect import fail

REQUEST_TIMEOUT_SECONDS = 5.0
# A hanging deployment must not hold CI for minutes: past this, checks fail without sending.
SUITE_DEADLINE_SECONDS = 25.0


@dataclass(frozen=True)
class Call:
    request: str
    elapsed_ms: float


class SmokeClient:
    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS)
        self._deadline = time.monotonic() + SUITE_DEADLINE_SECONDS
        self.calls: list[Call] = []

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        what = f"{method} {path}"
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            fail(f"{what}: not sent, the suite's {SUITE_DEADLINE_SECONDS:.0f} s deadline has passed")
        timeout = min(REQUEST_TIMEOUT_SECONDS, remaining)
        sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        started = time.perf_counter()
        try:
            response = self._http.request(method, path, headers=sent, json=json, timeout=timeout)
        except httpx.TimeoutException as exc:
            fail(f"{what}: no answer within {timeout:.1f} s ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            fail(f"{what}: no answer ({type(exc).__name__}: {exc})")
        self.calls.append(Call(what, (time.perf_counter() - started) * 1000))
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self._http.close()
