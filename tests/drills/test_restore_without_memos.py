"""The restore drill can fail: with OPERATION_ID_ON_CHAIN off (transactions carry no memo), recovery
cannot tell which idempotency key made a payout it brings back from the chain, and a client retrying
that key after the restore gets a second payout. The drill turns red with the reason (and cancels the
second payout while payouts are frozen, so nothing is paid twice here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.drills.runs import drill, drill_stack, verdicts


@pytest.fixture(scope="module")
def memoless_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with drill_stack(tmp_path_factory.mktemp("memoless"), ("OPERATION_ID_ON_CHAIN", "false")) as run_dir:
        yield run_dir


def test_without_memos_a_retried_key_is_paid_twice_and_the_drill_is_red(memoless_stack: Path) -> None:
    result = drill(memoless_stack, "restore")
    found = verdicts(result)
    assert found["operations recovered from the chain"]["outcome"] == "pass"
    assert found["retried idempotency keys paid twice"]["outcome"] == "fail"
    step = next(s for s in result.timeline.steps if s.name == "a client retries its idempotency key")
    assert any("would pay twice" in n or "cannot tell it" in n for n in step.notes), step.notes
    assert result.figures["memo_fee_sun"] == 0  # no memo, no fee
    assert result.outcome == "FAIL"
