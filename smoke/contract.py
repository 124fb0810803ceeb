"""What the contract (shared/API.md) fixes that the suite checks: written here, not taken from service/."""

from __future__ import annotations

from harness.tokens import ROLES

__all__ = ["ROLES"]

ERROR_FIELDS = ("code", "message", "details", "request_id", "timestamp", "service", "version")
ERROR_CODE = r"^LUCID_ERR_\d{4}$"

HEALTH_COMPONENTS = ("database", "redis", "tron_network")

# name -> TYPE, from the metrics table.
METRICS = {
    "http_requests_total": "counter",
    "http_request_duration_seconds": "histogram",
    "tron_network_status": "gauge",
    "tron_usdt_transfers_total": "counter",
    "tron_payouts_processed_total": "counter",
    "tron_payment_rate_limit_exceeded_total": "counter",
    "tron_payout_queue_depth": "gauge",
    "tron_block_height": "gauge",
    "tron_node_request_duration_seconds": "histogram",
    "tron_payment_dependency_up": "gauge",
    "tron_oldest_unfinished_operation_age_seconds": "gauge",
    "tron_payouts_frozen": "gauge",
    "tron_operations_blocked_on_fees": "gauge",
}

RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
TRON_RATE_LIMIT = 1000  # requests per minute per user for the /tron group

OPERATIONS = (
    "GET /health",
    "GET /health/live",
    "GET /health/ready",
    "GET /ready",
    "GET /metrics",
    "GET /openapi.json",
    "GET /api/v1/tron/network/info",
    "GET /api/v1/tron/network/status",
    "GET /api/v1/tron/network/height",
    "GET /api/v1/tron/network/fees",
    "GET /api/v1/wallets",
    "POST /api/v1/wallets",
    "GET /api/v1/wallets/{wallet_id}",
    "PUT /api/v1/wallets/{wallet_id}",
    "DELETE /api/v1/wallets/{wallet_id}",
    "GET /api/v1/wallets/{wallet_id}/balance",
    "GET /api/v1/wallets/{wallet_id}/transactions",
    "POST /api/v1/usdt/transfer",
    "GET /api/v1/usdt/transfers/{transfer_id}",
    "GET /api/v1/usdt/balance/{address}",
    "GET /api/v1/usdt/transactions/{address}",
    "POST /api/v1/usdt/approve",
    "GET /api/v1/usdt/allowance",
    "POST /api/v1/payouts/initiate",
    "GET /api/v1/payouts/{payout_id}",
    "POST /api/v1/payouts/batch",
    "GET /api/v1/payouts/history",
    "POST /api/v1/payouts/cancel",
    "POST /api/v1/staking/stake",
    "POST /api/v1/staking/unstake",
    "GET /api/v1/staking/status/{address}",
    "GET /api/v1/staking/rewards/{address}",
    "POST /api/v1/staking/withdraw",
    "POST /api/v1/payments/process",
    "GET /api/v1/payments/{payment_id}",
    "POST /api/v1/payments/refund",
    "GET /api/v1/payments/reconciliation",
    "POST /api/v1/payments/webhook",
)

# The all-zero (burn) address: a valid base58check address on every TRON network, and nobody's wallet.
WELL_KNOWN_ADDRESS = "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"
