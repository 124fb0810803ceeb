"""The mesh benchmark's arithmetic: slices of one target combined into one result."""

from __future__ import annotations

import pytest

from loadtests.mesh_benchmark import combine
from loadtests.wrk import WrkResult


def test_slices_combine_into_totals_and_request_weighted_percentiles() -> None:
    first = WrkResult(5.0, 1000, 4.0, 10.0, 1, {503: 2})
    second = WrkResult(5.0, 3000, 8.0, 20.0, 0, {503: 1, 500: 4})
    both = combine([first, second])
    assert (both.seconds, both.requests, both.socket_errors) == (10.0, 4000, 1)
    assert both.rps == 400.0
    assert both.p50_ms == pytest.approx(7.0) and both.p99_ms == pytest.approx(17.5)
    assert both.statuses == {503: 3, 500: 4}
