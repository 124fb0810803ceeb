"""The OpenAPI 3.0.3 document the service serves at /openapi.json: every route, as its handler behaves.

Shapes live in openapi_schemas.py and the description of one operation in openapi_operations.py; this
module lists the routes, each with the error statuses its handler can raise.
"""

from __future__ import annotations

from typing import Any

from service import VERSION
from service.openapi_operations import (
    SUCCESS_MEANINGS,
    error_responses,
    headers,
    link,
    operation,
    page_params,
    parameters,
    path,
    query,
)
from service.openapi_schemas import (
    CURRENCIES,
    OPERATION_STATUSES,
    PERIODS,
    Schema,
    address,
    enum,
    schemas,
    string,
    timestamp,
    uuid,
)

PAYOUT_ROLES = ("payout_manager", "admin")
STAKING_ROLES = ("staking_manager", "admin")
PAYMENT_ROLES = ("payment_manager", "admin")
PROBE_MEANINGS = {**SUCCESS_MEANINGS, 503: "A dependency is down, or the replica is draining."}


def _probe(op_id: str, summary: str, schema: str, *, can_fail: bool = True) -> Schema:
    ok = {200: schema, 503: schema} if can_fail else {200: schema}
    return operation(op_id, summary, ok, roles=None, meanings=PROBE_MEANINGS)


def _health_paths() -> dict[str, Schema]:
    ready = _probe("health_ready", "Readiness: the database reachable, not draining.", "Readiness")
    live = _probe("health_live", "Liveness: the process answers.", "Liveness", can_fail=False)
    metrics = operation(
        "health_metrics", "Prometheus metrics.", {200: "MetricsText"}, roles=None, media_type="text/plain"
    )
    return {
        "/health": {
            "get": _probe(
                "health_deep",
                "Database, Redis, TRON network and the payout kill switch; not for liveness.",
                "Health",
            )
        },
        "/health/live": {"get": live},
        "/health/ready": {"get": ready},
        "/ready": {"get": {**ready, "operationId": "health_ready_alias"}},
        "/metrics": {"get": metrics},
        "/openapi.json": {
            "get": operation("health_openapi", "This document.", {200: "OpenApiDocument"}, roles=None)
        },
    }


def _tron_paths() -> dict[str, Schema]:
    return {
        "/api/v1/tron/network/info": {
            "get": operation("tron_info", "The network's identity and prices.", {200: "NetworkInfo"}, (503,))
        },
        "/api/v1/tron/network/status": {
            "get": operation(
                "tron_status", "The network as the service sees it, even when down.", {200: "NetworkStatus"}
            )
        },
        "/api/v1/tron/network/height": {
            "get": operation("tron_height", "The latest block.", {200: "NetworkHeight"}, (503,))
        },
        "/api/v1/tron/network/fees": {
            "get": operation("tron_fees", "Current fees, in TRX.", {200: "NetworkFees"}, (503,))
        },
    }


def _wallet_paths() -> dict[str, Schema]:
    wallet_id = [path("wallet_id", uuid())]
    by_id = (400, 404, 503)
    listing = [*page_params(), query("currency", enum(CURRENCIES))]
    history = [*wallet_id, *page_params(), query("status", enum(["pending", "confirmed", "failed"]))]
    return {
        "/api/v1/wallets": {
            "get": operation(
                "wallets_list", "Your wallets, newest first.", {200: "WalletList"}, (400, 503), params=listing
            ),
            "post": operation(
                "wallets_create",
                "Create a custodial wallet (its key never leaves the service).",
                {201: "Wallet"},
                (400, 503),
                body="WalletCreate",
                links={
                    201: {
                        name: link(op_id, {"wallet_id": "$response.body#/wallet_id"})
                        for name, op_id in (
                            ("GetWallet", "wallets_get"),
                            ("UpdateWallet", "wallets_update"),
                            ("DeleteWallet", "wallets_delete"),
                            ("GetWalletBalance", "wallets_balance"),
                            ("GetWalletTransactions", "wallets_transactions"),
                        )
                    }
                },
            ),
        },
        "/api/v1/wallets/{wallet_id}": {
            "get": operation(
                "wallets_get",
                "One of your wallets, with its chain balance.",
                {200: "Wallet"},
                by_id,
                params=wallet_id,
            ),
            "put": operation(
                "wallets_update",
                "Rename or (de)activate a wallet.",
                {200: "Wallet"},
                by_id,
                params=wallet_id,
                body="WalletUpdate",
            ),
            "delete": operation(
                "wallets_delete", "Soft-delete a wallet.", {204: None}, by_id, params=wallet_id
            ),
        },
        "/api/v1/wallets/{wallet_id}/balance": {
            "get": operation(
                "wallets_balance",
                "The chain balance, cached briefly.",
                {200: "WalletBalance"},
                by_id,
                params=wallet_id,
            )
        },
        "/api/v1/wallets/{wallet_id}/transactions": {
            "get": operation(
                "wallets_transactions",
                "Money moves from or to the wallet, newest first.",
                {200: "WalletTransactions"},
                by_id,
                params=history,
            )
        },
    }


def _usdt_paths() -> dict[str, Schema]:
    by_address = path("address", address())
    window = [query("start_time", timestamp()), query("end_time", timestamp())]
    pair = [query("owner", address(), required=True), query("spender", address(), required=True)]
    return {
        "/api/v1/usdt/transfer": {
            "post": operation(
                "usdt_transfer",
                "Send USDT (TRC20) from one of your wallets.",
                {202: "UsdtTransfer"},
                (400, 404, 409, 503),
                idempotent=True,
                body="UsdtTransferRequest",
                links={
                    202: {
                        "GetTransfer": link(
                            "usdt_get_transfer", {"transfer_id": "$response.body#/transfer_id"}
                        )
                    }
                },
            )
        },
        "/api/v1/usdt/transfers/{transfer_id}": {
            "get": operation(
                "usdt_get_transfer",
                "One of your transfers, its status updated as blocks confirm.",
                {200: "UsdtTransfer"},
                (400, 404, 503),
                params=[path("transfer_id", uuid())],
            )
        },
        "/api/v1/usdt/balance/{address}": {
            "get": operation(
                "usdt_balance",
                "The USDT balance of any address.",
                {200: "UsdtBalance"},
                (400, 404, 503),
                params=[by_address],
            )
        },
        "/api/v1/usdt/transactions/{address}": {
            "get": operation(
                "usdt_transactions",
                "Your USDT moves from or to the address, newest first.",
                {200: "UsdtTransactions"},
                (400, 404, 503),
                params=[by_address, *page_params(), *window],
            )
        },
        "/api/v1/usdt/approve": {
            "post": operation(
                "usdt_approve",
                "Let a spender move USDT from one of your wallets.",
                {202: "UsdtApproval"},
                (400, 404, 409, 503),
                idempotent=True,
                body="UsdtApprovalRequest",
            )
        },
        "/api/v1/usdt/allowance": {
            "get": operation(
                "usdt_allowance",
                "How much a spender may move from an owner's USDT.",
                {200: "UsdtAllowance"},
                (400, 404, 503),
                params=pair,
            )
        },
    }


def _payout_paths() -> dict[str, Schema]:
    filters = [
        *page_params(),
        query("status", enum(OPERATION_STATUSES)),
        query("currency", enum(CURRENCIES)),
        query("start_date", timestamp()),
        query("end_date", timestamp()),
    ]
    return {
        "/api/v1/payouts/initiate": {
            "post": operation(
                "payouts_initiate",
                "Queue a payout; a background worker carries it to the chain.",
                {202: "PayoutAccepted"},
                (400, 404, 409, 422, 503),
                roles=PAYOUT_ROLES,
                idempotent=True,
                body="PayoutRequest",
                links={202: {"GetPayout": link("payouts_get", {"payout_id": "$response.body#/payout_id"})}},
            )
        },
        "/api/v1/payouts/{payout_id}": {
            "get": operation(
                "payouts_get",
                "One payout (admins see everyone's).",
                {200: "Payout"},
                (400, 404, 503),
                roles=PAYOUT_ROLES,
                params=[path("payout_id", uuid())],
            )
        },
        "/api/v1/payouts/batch": {
            "post": operation(
                "payouts_batch",
                "Queue up to 100 payouts; each is queued or listed in `failures`.",
                {202: "PayoutBatch"},
                (400, 404, 503),
                roles=PAYOUT_ROLES,
                idempotent=True,
                body="PayoutBatchRequest",
            )
        },
        "/api/v1/payouts/history": {
            "get": operation(
                "payouts_history",
                "Your payouts (admins: everyone's), newest first.",
                {200: "PayoutHistory"},
                (400, 503),
                roles=PAYOUT_ROLES,
                params=filters,
            )
        },
        "/api/v1/payouts/cancel": {
            "post": operation(
                "payouts_cancel",
                "Cancel a payout that is still pending.",
                {200: "PayoutCancelled"},
                (400, 404, 409, 503),
                roles=PAYOUT_ROLES,
                body="PayoutCancelRequest",
            )
        },
    }


def _staking_paths() -> dict[str, Schema]:
    by_address = path("address", address())
    period = query("period", {**enum(PERIODS), "default": "all"})
    return {
        "/api/v1/staking/stake": {
            "post": operation(
                "staking_stake",
                "Freeze TRX for energy or bandwidth (Stake 2.0).",
                {202: "Stake"},
                (400, 404, 409, 422, 503),
                roles=STAKING_ROLES,
                idempotent=True,
                body="StakeRequest",
            )
        },
        "/api/v1/staking/unstake": {
            "post": operation(
                "staking_unstake",
                "Unfreeze staked TRX; it unlocks after the network's delay.",
                {202: "Stake"},
                (400, 404, 409, 503),
                roles=STAKING_ROLES,
                idempotent=True,
                body="UnstakeRequest",
            )
        },
        "/api/v1/staking/withdraw": {
            "post": operation(
                "staking_withdraw",
                "Withdraw every unstake that has unlocked.",
                {202: "Stake"},
                (400, 404, 409, 503),
                roles=STAKING_ROLES,
                idempotent=True,
                body="WithdrawRequest",
            )
        },
        "/api/v1/staking/status/{address}": {
            "get": operation(
                "staking_status",
                "Staked, unstaking and withdrawable TRX of an address.",
                {200: "StakingStatus"},
                (400, 404, 503),
                roles=STAKING_ROLES,
                params=[by_address],
            )
        },
        "/api/v1/staking/rewards/{address}": {
            "get": operation(
                "staking_rewards",
                "TRX rewards: always zero, freezing yields resources, not TRX.",
                {200: "StakingRewards"},
                (400, 404),
                roles=STAKING_ROLES,
                params=[by_address, period],
            )
        },
    }


def _payment_paths() -> dict[str, Schema]:
    day = [
        query("date", string(format="date"), description="UTC day, default today"),
        query("currency", enum(CURRENCIES)),
        query("status", enum(OPERATION_STATUSES)),
        *page_params(),
    ]
    signature = {
        "name": "X-Lucid-Signature",
        "in": "header",
        "required": True,
        "schema": string(pattern="^t=[0-9]+,v1=[0-9a-f]{64}$"),
        "description": 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with WEBHOOK_SECRET>; '
        "more than 5 minutes off: 401.",
    }
    return {
        "/api/v1/payments/process": {
            "post": operation(
                "payments_process",
                "Pay from one of your wallets; a background worker sends it.",
                {202: "Payment"},
                (400, 404, 409, 422, 503),
                roles=PAYMENT_ROLES,
                idempotent=True,
                body="PaymentRequest",
                links={
                    202: {"GetPayment": link("payments_get", {"payment_id": "$response.body#/payment_id"})}
                },
            )
        },
        "/api/v1/payments/{payment_id}": {
            "get": operation(
                "payments_get",
                "One payment (admins see everyone's).",
                {200: "Payment"},
                (400, 404, 503),
                roles=PAYMENT_ROLES,
                params=[path("payment_id", uuid())],
            )
        },
        "/api/v1/payments/refund": {
            "post": operation(
                "payments_refund",
                "Refund a completed payment, in full or in part, from its recipient.",
                {202: "Refund"},
                (400, 404, 409, 503),
                roles=PAYMENT_ROLES,
                idempotent=True,
                body="RefundRequest",
            )
        },
        "/api/v1/payments/reconciliation": {
            "get": operation(
                "payments_reconciliation",
                "A UTC day's payments and refunds: exact totals, and a page of rows each checked "
                "against the solidified chain.",
                {200: "Reconciliation"},
                (400, 503),
                roles=PAYMENT_ROLES,
                params=day,
            )
        },
        "/api/v1/payments/webhook": {
            "post": operation(
                "payments_webhook",
                "Receive a signed payment event: recorded, never trusted with money.",
                {200: "WebhookReceipt"},
                (400, 401, 503),
                roles=None,
                params=[signature],
                body="WebhookEvent",
            )
        },
    }


def _admin_paths() -> dict[str, Schema]:
    admin = ("admin",)
    window = [
        query("since", timestamp(), description="submitted at or after (ISO-8601)"),
        query("until", timestamp(), description="submitted at or before (ISO-8601)"),
        *page_params(),
    ]
    return {
        "/api/v1/admin/ledger": {
            "get": operation(
                "admin_ledger",
                "Every money operation submitted in the window, oldest first: the service side of an audit.",
                {200: "Ledger"},
                (400, 503),
                roles=admin,
                params=window,
            )
        },
        "/api/v1/admin/wallets": {
            "get": operation(
                "admin_wallets",
                "Every wallet the service holds a key for (soft-deleted too); never a key.",
                {200: "HeldWallets"},
                (400, 503),
                roles=admin,
                params=page_params(),
            )
        },
        "/api/v1/admin/payouts/freeze": {
            "get": operation(
                "admin_freeze_get", "The payout kill switch.", {200: "PayoutFreeze"}, (503,), roles=admin
            ),
            "put": operation(
                "admin_freeze_set",
                "Turn the payout kill switch on (no replica signs or sends an outbound move; requests "
                "still queue) or off. Turning it on answers once every send already on its way has "
                "settled (at most 15 s), so nothing leaves after the answer.",
                {200: "PayoutFreeze"},
                (400, 503),
                roles=admin,
                body="PayoutFreezeRequest",
            ),
        },
    }


def build_spec() -> dict[str, Any]:
    paths: dict[str, Schema] = {}
    for group in (
        _health_paths,
        _tron_paths,
        _wallet_paths,
        _usdt_paths,
        _payout_paths,
        _staking_paths,
        _payment_paths,
        _admin_paths,
    ):
        paths.update(group())
    used = {
        answer["$ref"].rsplit("/", 1)[1]
        for item in paths.values()
        for op in item.values()
        for answer in op["responses"].values()
        if "$ref" in answer
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "TRON payment API",
            "version": VERSION,
            "description": "Custodial TRX/USDT wallets, transfers, payouts, staking and payments on TRON. "
            "Amounts are decimal strings (requests: at most 6 places; responses: exactly 6). Errors: "
            "`{error: {code, message, details, request_id, timestamp, service, version}}`.",
        },
        "tags": [
            {"name": name}
            for name in ("health", "tron", "wallets", "usdt", "payouts", "staking", "payments", "admin")
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "HS256 JWT with claims sub, roles and exp, minted by the operator CLI.",
                }
            },
            "schemas": schemas(),
            "responses": {name: answer for name, answer in error_responses().items() if name in used},
            "headers": headers(),
            "parameters": parameters(),
        },
    }
