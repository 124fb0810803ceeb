"""What a query means against the metrics catalogue (alerts/catalog.py), for rules and dashboards
alike: label values a metric never has, and one-hot gauges read as if they were one 0/1 flag.
"""

from __future__ import annotations

import re

from alerts import catalog
from alerts.promql_syntax import PromQLSyntaxError, VectorSelector, parse, walk


def _selectors(expr: str) -> list[VectorSelector]:
    try:
        return [n for n in walk(parse(expr)) if isinstance(n, VectorSelector) and n.name]
    except PromQLSyntaxError:
        return []  # the PromQL checks say so


def _metric(name: str) -> catalog.Metric | None:
    series = catalog.series(name)
    return series.metric if series is not None else None


def label_value_problems(expr: str) -> list[str]:
    """A matcher that asks for a value the catalogue says the label never takes selects nothing."""
    problems = []
    for selector in _selectors(expr):
        metric = _metric(str(selector.name))
        if metric is None:
            continue
        for matcher in selector.matchers:
            values = metric.values_of(matcher.label)
            if values is None or "$" in matcher.value:  # a dashboard variable: any value
                continue
            if matcher.op == "=":
                never = matcher.value not in values
            elif matcher.op == "=~":
                never = not any(re.fullmatch(matcher.value, v) for v in values)
            else:
                continue
            if never:
                problems.append(
                    f'{selector.name}{{{matcher.label}{matcher.op}"{matcher.value}"}} selects nothing: '
                    f"{matcher.label} is one of {', '.join(sorted(values))}"
                )
    return problems


def one_hot_problems(expr: str) -> list[str]:
    """A one-hot gauge read without choosing its state: 1 then says only that *some* state holds."""
    problems = []
    for selector in _selectors(expr):
        metric = _metric(str(selector.name))
        if metric is None or metric.one_hot is None:
            continue
        states = metric.values_of(metric.one_hot) or frozenset()
        chosen = [
            m
            for m in selector.matchers
            if m.label == metric.one_hot
            and (m.op == "=" or (m.op == "=~" and sum(bool(re.fullmatch(m.value, s)) for s in states) == 1))
        ]
        if not chosen:
            problems.append(
                f"{selector.name} is one-hot over {metric.one_hot} ({', '.join(sorted(states))}): "
                f"every state has "
                f"its own series and the current one is 1, so read as one 0/1 value it means nothing; "
                f'select the state, e.g. {selector.name}{{{metric.one_hot}="{sorted(states)[0]}"}}'
            )
    return problems
