"""The money audit run after every test that moves money: the harness's own (harness/audit), through
the contract only (the admin API and TronGrid-style chain queries), over the test's time window.

Every operation the test started must reach a final state within `SETTLE_S`; then any finding
(paid twice, accepted but lost, unknown to the ledger, amount mismatch, stuck, fee burned on a
reverted call) fails the test, unless the test declares the kinds it provokes on purpose with
`@pytest.mark.audit_expects("fee_burned_on_revert", ...)`.
"""

from __future__ import annotations

import time

import pytest

from harness.audit.findings import Finding
from harness.audit.run import Report

SETTLE_S = 60.0
# The window starts a little before the test: block timestamps and the service's clock are one
# machine's, but a block stamped in the same millisecond as the test's start must not fall outside.
WINDOW_MARGIN_MS = 1000
# Tests run one after another and each waits for its own operations: a few minutes of ledger before
# the window is enough to know every transaction landing inside it.
LOOKBACK_MS = 10 * 60 * 1000


def window_start() -> int:
    return int(time.time() * 1000) - WINDOW_MARGIN_MS


def expected_kinds(node: pytest.Item | None) -> set[str]:
    marker = node.get_closest_marker("audit_expects") if node is not None else None
    return set(marker.args) if marker is not None else set()


def assert_clean(report: Report, expected: set[str] | frozenset[str] = frozenset()) -> None:
    unexpected: list[Finding] = [f for f in report.findings if f.kind not in expected]
    assert not unexpected, "money audit: " + report.summary() + "\n" + "\n".join(f.line() for f in unexpected)
