"""The PromQL reader and the expression checks that the rule lint and the dashboard lint share."""

from __future__ import annotations

import pytest

from alerts.promql import check_expression, read
from alerts.promql_syntax import Matcher, PromQLSyntaxError, parse

SEED_P95 = (
    'histogram_quantile(0.95, rate(http_request_duration_seconds_bucket{job="tron-payment-service"}[5m])) > 5'
)


def test_read_finds_selectors_groupings_windows_quantiles_and_comparisons() -> None:
    reading = read(
        "histogram_quantile(0.95, sum by (le, route) ("
        'rate(http_request_duration_seconds_bucket{route=~"/api/v1/{payouts}.*", job!="x"}[5m] offset 1h)'
        ")) > (2 * 2.5)"
    )
    (selector,) = reading.selectors
    assert selector.name == "http_request_duration_seconds_bucket"
    assert selector.matchers == (Matcher("route", "=~", "/api/v1/{payouts}.*"), Matcher("job", "!=", "x"))
    assert (selector.window, selector.offset) == ("5m", "1h")
    assert [(g.op, g.labels, g.without) for g in reading.groupings] == [("sum", ("le", "route"), False)]
    assert reading.windows == ("5m",)
    (quantile,) = reading.quantiles
    assert quantile.quantile == 0.95
    assert quantile.by_labels == ("le", "route")
    assert quantile.metrics == ("http_request_duration_seconds_bucket",)
    assert quantile.aggregated.startswith("sum by (le, route) (rate(")
    (comparison,) = reading.comparisons
    assert (comparison.op, comparison.constant) == (">", 5.0)
    assert comparison.subject.startswith("histogram_quantile(")


def test_read_turns_a_constant_on_the_left_around() -> None:
    (comparison,) = read("0.5 < up").comparisons
    assert (comparison.subject, comparison.op, comparison.constant) == ("up", ">", 0.5)


@pytest.mark.parametrize(
    "expr",
    [
        "sum without (instance) (rate(x_total[5m])) / on (job) group_left (team) y",
        "max_over_time(rate(x_total[5m])[1h:1m])",
        "sum(rate(x_total[$__rate_interval])) by (route)",
        "topk(3, x) @ end()",
        "-2 ^ 2 * 3 % 4 atan2 1",
        'x{a="}{\\"", b=`raw\\`} > bool 1 unless y',
        'count_values("v", x) or vector(0)',
        "# a comment\nup offset -5m",
    ],
)
def test_parses_the_language_rules_and_dashboards_use(expr: str) -> None:
    parse(expr)


@pytest.mark.parametrize(
    ("expr", "where"),
    [
        ("sum(rate(x[5m])", 15),
        ("x{a=1}", 4),
        ("rate(x[5])", 7),
        ("x > bool", 8),
        ("(x + y", 6),
        ("x +* y", 3),
    ],
)
def test_syntax_errors_say_where(expr: str, where: int) -> None:
    with pytest.raises(PromQLSyntaxError) as error:
        parse(expr)
    assert error.value.position == where


def test_operator_precedence() -> None:
    (comparison,) = read("a + b * c > 1 and d").comparisons
    assert comparison.subject == "a + b * c"


@pytest.mark.parametrize(
    "expr",
    [
        'max by (job) (up{job="tron-payment-service"}) == 0 or absent(up{job="tron-payment-service"})',
        'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05',
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 5",
        "histogram_quantile(0.99, sum by (le, method) (rate(tron_node_request_duration_seconds_bucket[5m])))",
        'sum by (response_flags) (rate(istio_requests_total{reporter="destination"}[1m]))',
        'tron_network_status{status="down"} == 1',
        'slo:sli_error:ratio_rate1h{slo="api-latency",route_group="tron"} > (14.4 * 0.05)',
        "sum by (group) (rate(tron_payment_rate_limit_exceeded_total[$__rate_interval]))",
        'max by (namespace, pod) (kube_pod_status_ready{condition="true"})',
        'sum(ALERTS{alertstate="firing", severity="page"})',
    ],
)
def test_sound_expressions_have_no_problems(expr: str) -> None:
    assert check_expression(expr) == []


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("rate(http_request_total[5m])", "unknown metric http_request_total"),
        ('http_requests_total{code="500"}', "http_requests_total has no label code"),
        (
            'http_request_duration_seconds{route="x"}',
            "is a histogram: select http_request_duration_seconds_bucket",
        ),
        ("rate(http_requests_total[30s])", "window [30s] on http_requests_total is shorter than 4 x"),
        (SEED_P95, "is not aggregated"),
        (
            "histogram_quantile(0.95, sum by (route) (rate(http_request_duration_seconds_bucket[5m])))",
            "the aggregation drops le",
        ),
        ("histogram_quantile(0.95, sum by (le) (rate(http_requests_total[5m])))", "needs the _bucket series"),
        (
            "histogram_quantile(95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
            "between 0 and 1",
        ),
        (
            'tron_network_status{status="down"} > 1',
            "can never be true: tron_network_status is always between 0 and 1",
        ),
        ('max(tron_network_status{status="down"}) == 2', "can never be true"),
        ("up < 0", "can never be true"),
        (
            'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 1',
            "can never be true: it is a ratio of part of a counter to the whole of it",
        ),
        (
            'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) < 0',
            "can never be true",
        ),
        (
            'sum(rate(http_request_duration_seconds_bucket{le="2.0"}[5m])) '
            "/ sum(rate(http_request_duration_seconds_count[5m])) > 1.5",
            "can never be true",
        ),
        (
            "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 120",
            "at most its largest finite bucket (120)",
        ),
        ('slo:sli_error:ratio_rate1h{slo="api-latency"} > (30 * 0.05)', "1.5 can never be true"),
        ("rate(http_requests_total[5m]) < 0", "rate() is never negative"),
        ("rate(tron_payout_queue_depth[5m])", "rate() of tron_payout_queue_depth, a gauge"),
        (
            "sum by (route_group) (rate(http_requests_total[5m]))",
            "nothing inside rate(http_requests_total[5m])",
        ),
        ("sum(rate(http_requests_total[5m]", "not valid PromQL"),
    ],
)
def test_each_kind_of_mistake_is_found(expr: str, problem: str) -> None:
    problems = check_expression(expr)
    assert any(problem in found for found in problems), problems


def test_window_check_follows_the_scrape_interval() -> None:
    assert check_expression("rate(http_requests_total[10s])", scrape_interval_s=2) == []
    assert check_expression("rate(http_requests_total[10s])", scrape_interval_s=3) != []


def test_series_recorded_elsewhere_count_as_known() -> None:
    assert check_expression("job:my_errors:rate5m > 1") != []
    assert check_expression("job:my_errors:rate5m > 1", recorded=["job:my_errors:rate5m"]) == []


def test_the_seed_alerts_are_found_wanting() -> None:
    assert check_expression(SEED_P95)
    memory = (
        'container_memory_usage_bytes{container="tron-payment-service"} '
        '/ container_spec_memory_limit_bytes{container="tron-payment-service"} > 0.8'
    )
    assert len(check_expression(memory)) == 2  # neither metric is exported here
