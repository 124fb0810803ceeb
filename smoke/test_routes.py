"""Each route group's read contract, validated against the deployment's own OpenAPI schemas."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from smoke import expect
from smoke.client import SmokeClient
from smoke.contract import RATE_LIMIT_HEADERS, TRON_RATE_LIMIT, WELL_KNOWN_ADDRESS
from smoke.openapi import Document

PAGE_LIMIT = 5
# id -> (OpenAPI path template, concrete path, key of the paginated list or None)
READS = {
    "tron-network-info": ("/api/v1/tron/network/info", "/api/v1/tron/network/info", None),
    "tron-network-status": ("/api/v1/tron/network/status", "/api/v1/tron/network/status", None),
    "tron-network-height": ("/api/v1/tron/network/height", "/api/v1/tron/network/height", None),
    "tron-network-fees": ("/api/v1/tron/network/fees", "/api/v1/tron/network/fees", None),
    "wallets-list": ("/api/v1/wallets", f"/api/v1/wallets?page=1&limit={PAGE_LIMIT}", "wallets"),
    "payouts-history": (
        "/api/v1/payouts/history",
        f"/api/v1/payouts/history?page=1&limit={PAGE_LIMIT}",
        "payouts",
    ),
    "payments-reconciliation": ("/api/v1/payments/reconciliation", "/api/v1/payments/reconciliation", None),
    "staking-rewards": (
        "/api/v1/staking/rewards/{address}",
        f"/api/v1/staking/rewards/{WELL_KNOWN_ADDRESS}",
        None,
    ),
    "usdt-balance": ("/api/v1/usdt/balance/{address}", f"/api/v1/usdt/balance/{WELL_KNOWN_ADDRESS}", None),
}


def _check_first_page(response_label: str, body: dict[str, object], items_key: str) -> None:
    items, page = body[items_key], body["pagination"]
    assert isinstance(items, list) and isinstance(page, dict)  # the schema said so
    total = page["total"]
    wanted = {"page": 1, "limit": PAGE_LIMIT, "pages": -(-total // PAGE_LIMIT)}
    wrong = {key: page[key] for key, value in wanted.items() if page[key] != value}
    if wrong or len(items) != min(total, PAGE_LIMIT):
        expect.fail(
            f"{response_label}: pagination {page} with {len(items)} {items_key} does not add up "
            f"for page 1, limit {PAGE_LIMIT}"
        )


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_read_contract(
    client: SmokeClient, token: str, openapi: Callable[[], Document], read: tuple[str, str, str | None]
) -> None:
    template, path, items_key = read
    response = client.get(path, token=token)
    expect.status(response, 200)
    openapi().validate(template, response)
    if items_key:
        _check_first_page(expect.label(response), response.json(), items_key)


def test_unknown_payout_404(client: SmokeClient, token: str, openapi: Callable[[], Document]) -> None:
    response = client.get(f"/api/v1/payouts/{uuid.uuid4()}", token=token)
    expect.status(response, 404)
    expect.error_format(response)
    openapi().validate("/api/v1/payouts/{payout_id}", response)


def test_rate_limit_headers(client: SmokeClient, token: str) -> None:
    response = client.get("/api/v1/tron/network/status", token=token)
    expect.status(response, 200)
    missing = [name for name in RATE_LIMIT_HEADERS if not response.headers.get(name, "").isdigit()]
    if missing:
        expect.fail(f"{expect.label(response)} carries no numeric {', '.join(missing)}")
    limit, remaining = (int(response.headers[name]) for name in RATE_LIMIT_HEADERS[:2])
    if limit != TRON_RATE_LIMIT or remaining > limit:
        expect.fail(
            f"{expect.label(response)}: X-RateLimit-Limit {limit} (contract: {TRON_RATE_LIMIT}), "
            f"X-RateLimit-Remaining {remaining}"
        )


def test_tron_network_healthy(client: SmokeClient, token: str) -> None:
    response = client.get("/api/v1/tron/network/status", token=token)
    expect.status(response, 200)
    body = expect.json_object(response)
    state = body.get("status")
    if state == "degraded":
        expect.fail(
            f"TRON network degraded: sync lag {body.get('sync_lag_seconds')} s "
            f"(last block at height {body.get('current_height')})"
        )
    if state != "healthy":
        expect.fail(
            f"TRON network {state}: the deployment cannot reach its full node ({expect.label(response)})"
        )
