"""The parts `tronops up` starts, in start order: what the stack and `status --json` tests expect."""

STACK_PARTS = (
    "store",
    "redis",
    "backup",
    "devnet",
    "alertsink",
    "pods",
    "mesh",
    "alertmanager",
    "prometheus",
)
