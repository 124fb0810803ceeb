"""Probe verdicts: successThreshold / failureThreshold results in a row."""

from __future__ import annotations

from stack.pods.probes import Streak


def test_a_verdict_needs_enough_results_in_a_row() -> None:
    streak = Streak(success_threshold=2, failure_threshold=3)
    assert [
        streak.record(ok) for ok in (True, True, False, False, True, False, False, False, True, True)
    ] == [
        None,
        True,
        None,
        None,
        None,  # a success resets the failures
        None,
        None,
        False,
        None,
        True,
    ]
