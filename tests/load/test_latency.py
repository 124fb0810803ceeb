"""The harness's own latency record: exact to the stated precision, mergeable across workers."""

from __future__ import annotations

import random

import pytest

from loadtests.latency import ByGroup, Latencies, bucket, exact_percentile, precision_ms, value


@pytest.mark.parametrize("ms", [0.0, 0.04, 3.21, 57.5, 99.99, 100.0, 101.3, 850.0, 2_000.0, 119_999.0])
def test_a_bucket_stands_for_its_values_within_the_precision(ms: float) -> None:
    assert abs(value(bucket(ms)) - ms) <= min(0.05, precision_ms(ms)) + ms * 0.0005


def test_percentiles_match_the_exact_nearest_rank_ones() -> None:
    rng = random.Random(7)
    samples = [rng.lognormvariate(3.5, 1.0) for _ in range(20_000)]  # ~33 ms median, a long tail
    latencies = Latencies()
    for sample in samples:
        latencies.record(sample)
    for quantile in (0.5, 0.9, 0.95, 0.99, 0.999):
        exact = exact_percentile(samples, quantile)
        reported = latencies.percentile(quantile)
        assert reported is not None
        assert abs(reported - exact) <= precision_ms(exact), (quantile, reported, exact)


def test_failures_are_counted_apart_from_the_latencies() -> None:
    latencies = Latencies()
    for ms in (10.0, 20.0, 30.0):
        latencies.record(ms)
    latencies.fail("503")
    assert (latencies.ok, latencies.failed, latencies.error_ratio()) == (3, 1, 0.25)
    assert latencies.percentile(1.0) == pytest.approx(30.05)  # the failure's time is not in it


def test_merged_histograms_are_the_histogram_of_all_samples() -> None:
    rng = random.Random(3)
    parts = [[rng.uniform(1, 400) for _ in range(500)] for _ in range(3)]
    merged, whole = ByGroup(), Latencies()
    for part in parts:
        worker = ByGroup()
        for sample in part:
            worker.of("payouts").record(sample)
            whole.record(sample)
        merged.merge(ByGroup.from_wire(worker.to_wire()))  # as the master gets it
    assert merged["payouts"].buckets == whole.buckets
    assert merged["payouts"].percentile(0.99) == whole.percentile(0.99)


def test_nothing_recorded_has_no_percentile() -> None:
    assert Latencies().percentile(0.95) is None and Latencies().error_ratio() is None
