"""The dashboard panel titles that docs/oncall.md and the runbooks send on-call to: the dashboard
must have each, and the docs may name no other."""

PANEL_TITLES = (
    "Request rate",
    "Error ratio (5xx)",
    "Latency p95 by route group",
    "SLO: availability error budget remaining",
    "SLO burn rate",
    "Pods ready",
    "Pod restarts",
    "Memory vs limit",
    "CPU vs limit",
    "Mesh responses by flag",
    "Mesh ejected endpoints",
    "Payout queue depth",
    "Payouts processed",
    "USDT transfers",
    "Payouts frozen",
    "Operations blocked on fees",
    "Dependencies up",
    "TRON network status",
    "Block height",
    "Node call latency p95",
    "Rate-limited requests",
    "Injected faults",
)
