"""How the lint reads PromQL written for Grafana."""

from __future__ import annotations

from dashboards.expressions import expand, rate_ranges, variable_values

VARIABLES = [
    {"name": "job", "current": {"value": ["a", "b"]}},
    {"name": "instance", "current": {"value": "$__all"}, "allValue": ".+"},
]


def test_expand_fills_every_syntax_and_names_the_undefined() -> None:
    values = variable_values(VARIABLES)
    expr = 'rate(x{job=~"$job", instance=~"${instance:regex}", pod="[[pod]]"}[$__rate_interval])'
    assert expand(expr, values) == ('rate(x{job=~"a|b", instance=~".+", pod="[[pod]]"}[1m])', ["pod"])


def test_capture_groups_in_strings_are_not_variables() -> None:
    expr = 'label_replace(up, "group", "$1", "route", "/api/v1/([^/]+).*")'
    assert expand(expr, {}) == (expr, [])


def test_rate_ranges_reads_nested_calls_and_skips_strings() -> None:
    expr = (
        'sum(rate(a{route="rate(x[5m])"}[$__rate_interval])) / sum(increase(b[1h]))'
        " + irate(c[${__rate_interval}])"
    )
    assert list(rate_ranges(expr)) == [
        ("rate", "$__rate_interval"),
        ("increase", "1h"),
        ("irate", "${__rate_interval}"),
    ]
