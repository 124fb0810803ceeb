"""The metrics catalogue agrees with what is exported, and durations read and write as Prometheus's."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.metrics import MetricWrapperBase

from alerts import catalog
from alerts.durations import format_duration, parse_duration, scale_duration
from service import metrics as service_metrics
from service.metrics import DURATION_BUCKETS
from stack.devnet.metrics import DevnetMetrics


def _exported(collectors: Iterable[Any]) -> dict[str, tuple[str, frozenset[str]]]:
    # prometheus_client keeps names, types and label names in attributes it does not document.
    found = {}
    for collector in collectors:
        kind = str(collector._type)
        found[collector._name + ("_total" if kind == "counter" else "")] = (
            kind,
            frozenset(collector._labelnames),
        )
    return found


def _catalogued(source: catalog.Source) -> dict[str, tuple[str, frozenset[str]]]:
    return {m.name: (m.type, m.labels or frozenset()) for m in source.metrics}


def test_the_service_exports_exactly_the_catalogued_metrics() -> None:
    collectors = [v for v in vars(service_metrics).values() if isinstance(v, MetricWrapperBase)]
    assert _exported(collectors) == _catalogued(catalog.SERVICE)


def test_the_devnet_exports_exactly_the_catalogued_metrics() -> None:
    chain, faults = SimpleNamespace(height=1, pending_count=0), SimpleNamespace(down=False)
    devnet = DevnetMetrics(chain, faults, ("down",))  # type: ignore[arg-type]
    collectors = list(devnet.registry._collector_to_names)
    assert _exported(collectors) == _catalogued(catalog.DEVNET)


def test_histograms_know_their_largest_bucket() -> None:
    assert max(DURATION_BUCKETS) == catalog.SERVICE_LARGEST_BUCKET_S
    info = catalog.series("http_request_duration_seconds_bucket")
    assert info is not None and info.is_bucket and info.labels is not None and "le" in info.labels
    assert catalog.series("http_request_duration_seconds") is None


def test_recorded_slo_series_are_catalogued_at_every_window() -> None:
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        info = catalog.series(f"slo:sli_error:ratio_rate{window}")
        assert info is not None and info.labels == {"slo", "route_group", "rules_profile"}


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("1h30m", 5400), ("3d", 259200), ("250ms", 0.25), ("1w", 604800)]
)
def test_durations_read_as_prometheus_reads_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5 m", "m5", "1.5h", "5M"])
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_scale_to_their_shortest_exact_form() -> None:
    assert [scale_duration(d, 30) for d in ("5m", "1m", "1h", "3d", "15m")] == [
        "10s",
        "2s",
        "2m",
        "2h24m",
        "30s",
    ]
    assert format_duration(0.5) == "500ms"
    with pytest.raises(ValueError):
        format_duration(0)
