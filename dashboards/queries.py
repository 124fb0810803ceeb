"""PromQL fragments the panels share, so a rate or a quantile is spelt the same way everywhere."""

from __future__ import annotations

RATE_INTERVAL = "$__rate_interval"  # Grafana's window that is always ≥ 4 scrapes, at any zoom


def selector(metric: str, *matchers: str) -> str:
    return f"{metric}{{{', '.join(matchers)}}}" if matchers else metric


def aggregate(operator: str, labels: tuple[str, ...], expr: str) -> str:
    return f"{operator} by ({', '.join(labels)}) ({expr})" if labels else f"{operator}({expr})"


def sum_by(labels: tuple[str, ...], expr: str) -> str:
    return aggregate("sum", labels, expr)


def _over_rate_interval(function: str, metric: str, *matchers: str) -> str:
    return f"{function}({selector(metric, *matchers)}[{RATE_INTERVAL}])"


def rate(metric: str, *matchers: str) -> str:
    return _over_rate_interval("rate", metric, *matchers)


def increase(metric: str, *matchers: str) -> str:
    return _over_rate_interval("increase", metric, *matchers)


def sum_rate(metric: str, *matchers: str, by: tuple[str, ...] = ()) -> str:
    return sum_by(by, rate(metric, *matchers))


def p95(histogram: str, *matchers: str, by: tuple[str, ...] = ()) -> str:
    """The 95th percentile of a histogram, aggregated over pods by bucket so the buckets stay whole."""
    return f"histogram_quantile(0.95, {sum_rate(f'{histogram}_bucket', *matchers, by=('le', *by))})"


def ratio(numerator: str, denominator: str) -> str:
    return f"({numerator}) / ({denominator})"
