"""The metrics contract of API.md, exactly: names, types and labels."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

# The `_created` series only add cardinality; the contract does not name them.
disable_created_metrics()

REGISTRY = CollectorRegistry(auto_describe=True)

# 5 ms to 120 s: the longest route timeout (payouts) is 120 s.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)

HTTP_REQUESTS = Counter(
    "http_requests", "Every HTTP request served", ["method", "route", "status"], registry=REGISTRY
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
    registry=REGISTRY,
)
NETWORK_STATUS = Gauge(
    "tron_network_status",
    "TRON network status, one-hot over healthy/degraded/down",
    ["status"],
    registry=REGISTRY,
)
USDT_TRANSFERS = Counter("tron_usdt_transfers", "TRC20 USDT transfers", ["status"], registry=REGISTRY)
PAYOUTS_PROCESSED = Counter(
    "tron_payouts_processed", "Payouts that reached a final state", ["currency", "status"], registry=REGISTRY
)
RATE_LIMIT_EXCEEDED = Counter(
    "tron_payment_rate_limit_exceeded", "Requests refused with 429", ["group"], registry=REGISTRY
)
PAYOUT_QUEUE_DEPTH = Gauge(
    "tron_payout_queue_depth", "Payouts waiting for the worker", ["priority"], registry=REGISTRY
)
BLOCK_HEIGHT = Gauge("tron_block_height", "Last TRON block height seen", registry=REGISTRY)
NODE_REQUEST_DURATION = Histogram(
    "tron_node_request_duration_seconds",
    "Calls to the TRON full node",
    ["method"],
    buckets=DURATION_BUCKETS,
    registry=REGISTRY,
)

OLDEST_UNFINISHED_AGE = Gauge(
    "tron_oldest_unfinished_operation_age_seconds",
    "Age of the oldest operation not yet final, per kind (0 when none)",
    ["kind"],
    registry=REGISTRY,
)

LEASE_TAKEOVERS = Counter(
    "tron_operation_lease_takeovers",
    "Operations this replica claimed after another worker's lease ran out (a crashed or stopped replica's)",
    registry=REGISTRY,
)
PAYOUTS_FROZEN = Gauge(
    "tron_payouts_frozen", "1 while the payout kill switch is on (shared by every replica)", registry=REGISTRY
)
DEPENDENCY_UP = Gauge(
    "tron_payment_dependency_up", "1 when the dependency is reachable", ["dependency"], registry=REGISTRY
)
DEPENDENCIES = ("database", "redis", "tron_node")
OPERATIONS_BLOCKED_ON_FEES = Gauge(
    "tron_operations_blocked_on_fees",
    "Operations not yet final whose source wallet lacks the TRX for their fee",
    ["currency"],
    registry=REGISTRY,
)

NETWORK_STATES = ("healthy", "degraded", "down")


def set_network_status(current: str) -> None:
    for state in NETWORK_STATES:
        NETWORK_STATUS.labels(status=state).set(1 if state == current else 0)
