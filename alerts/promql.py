"""Reading PromQL for what it queries, and the problems one expression can have.

`read` lists what an expression is made of (selectors with matchers, groupings, windows,
histogram_quantile calls, comparisons with constants); `check_expression` says what is wrong with
it against the metrics catalogue. The rule lint and the dashboard lint both call the latter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from alerts import catalog
from alerts.durations import parse_duration
from alerts.promql_syntax import (
    COMPARISONS,
    Aggregation,
    Binary,
    Call,
    Matcher,
    Node,
    NumberLiteral,
    PromQLSyntaxError,
    Subquery,
    Unary,
    VectorSelector,
    parse,
    unwrap,
    walk,
)

RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
# A recorded series whose name says "ratio" in its operations part holds a fraction (0..1).
_RATIO_WORD = "ratio"
# Functions whose result stays within the range of their (first) argument's values.
_RANGE_KEEPING = frozenset(
    {"min_over_time", "max_over_time", "avg_over_time", "last_over_time", "quantile_over_time"}
    | {"round", "ceil", "floor", "sort", "sort_desc", "label_replace", "label_join", "vector", "scalar"}
)
_NON_NEGATIVE = frozenset({"abs", "sqrt", "count_over_time", "changes", "resets", "time", "stddev_over_time"})
_FLIPPED = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Selector:
    name: str | None
    matchers: tuple[Matcher, ...]
    window: str | None  # the range of a range selector, as written
    offset: str | None
    text: str


@dataclass(frozen=True)
class Grouping:
    op: str
    labels: tuple[str, ...]
    without: bool
    text: str


@dataclass(frozen=True)
class Quantile:
    quantile: float | None  # None when the first argument is not a number
    aggregated: str  # the text of what it computes the quantile of
    by_labels: tuple[str, ...] | None  # the grouping of a directly enclosed aggregation, if any
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    subject: str  # the side that is not constant, as written
    op: str  # as if the subject were on the left
    constant: float


@dataclass(frozen=True)
class Reading:
    selectors: tuple[Selector, ...]
    groupings: tuple[Grouping, ...]
    windows: tuple[str, ...]  # range-vector and subquery windows, as written
    quantiles: tuple[Quantile, ...]
    comparisons: tuple[Comparison, ...]
    functions: tuple[str, ...]


def read(expr: str) -> Reading:
    """What `expr` is made of. Raises PromQLSyntaxError when it is not PromQL."""
    tree = parse(expr)
    nodes = list(walk(tree))
    selectors = [n for n in nodes if isinstance(n, VectorSelector)]
    return Reading(
        selectors=tuple(
            Selector(s.name, tuple(s.matchers), s.range, s.offset, expr[s.start : s.end]) for s in selectors
        ),
        groupings=tuple(
            Grouping(n.op, tuple(n.grouping), n.without, expr[n.start : n.end])
            for n in nodes
            if isinstance(n, Aggregation) and n.grouped
        ),
        windows=tuple(n.range for n in nodes if isinstance(n, VectorSelector | Subquery) and n.range),
        quantiles=tuple(
            _quantile(n, expr) for n in nodes if isinstance(n, Call) and n.func == "histogram_quantile"
        ),
        comparisons=tuple(c for n in nodes if (c := _comparison(n, expr)) is not None),
        functions=tuple(n.func for n in nodes if isinstance(n, Call)),
    )


def _quantile(node: Call, expr: str) -> Quantile:
    q = constant_value(node.args[0]) if node.args else None
    inner = unwrap(node.args[1]) if len(node.args) > 1 else node
    by = tuple(inner.grouping) if isinstance(inner, Aggregation) and not inner.without else None
    metrics = tuple(s.name for s in walk(inner) if isinstance(s, VectorSelector) and s.name)
    return Quantile(q, expr[inner.start : inner.end], by, metrics)


def _comparison(node: Node, expr: str) -> Comparison | None:
    if not isinstance(node, Binary) or node.op not in COMPARISONS:
        return None
    left, right = constant_value(node.lhs), constant_value(node.rhs)
    if right is not None and left is None:
        return Comparison(expr[node.lhs.start : node.lhs.end], node.op, right)
    if left is not None and right is None:
        return Comparison(expr[node.rhs.start : node.rhs.end], _FLIPPED[node.op], left)
    return None


def constant_value(node: Node) -> float | None:
    """The value of a constant arithmetic expression such as (14.4 * 0.001), else None."""
    node = unwrap(node)
    if isinstance(node, NumberLiteral):
        return node.value
    if isinstance(node, Unary):
        inner = constant_value(node.expr)
        return None if inner is None else (-inner if node.op == "-" else inner)
    if isinstance(node, Binary) and node.op in ("+", "-", "*", "/", "^", "%"):
        lhs, rhs = constant_value(node.lhs), constant_value(node.rhs)
        if lhs is None or rhs is None:
            return None
        try:
            return _arithmetic(node.op, lhs, rhs)
        except (ZeroDivisionError, OverflowError, ValueError):
            return None
    return None


def _arithmetic(op: str, lhs: float, rhs: float) -> float:
    if op == "+":
        return lhs + rhs
    if op == "-":
        return lhs - rhs
    if op == "*":
        return lhs * rhs
    if op == "/":
        return lhs / rhs
    if op == "%":
        return math.fmod(lhs, rhs)
    return float(lhs**rhs)


# ---- what values an expression can take --------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    low: float
    high: float
    why: str  # said to a human when a comparison against these bounds cannot hold


UNBOUNDED = Bounds(-math.inf, math.inf, "")


class _Context:
    def __init__(self, recorded: frozenset[str]) -> None:
        self.recorded = recorded

    def series(self, name: str | None) -> catalog.Series | None:
        """The catalogue entry, or None; series recorded by the same rule file count as known."""
        if name is None or name in self.recorded:
            return None
        return catalog.series(name)

    def known(self, name: str) -> bool:
        return name in self.recorded or catalog.series(name) is not None

    def bounds(self, node: Node) -> Bounds:
        node = unwrap(node)
        if isinstance(node, NumberLiteral):
            return Bounds(node.value, node.value, "")
        if isinstance(node, VectorSelector):
            return self.selector_bounds(node)
        if isinstance(node, Subquery):
            return self.bounds(node.expr)
        if isinstance(node, Call):
            return self.call_bounds(node)
        if isinstance(node, Aggregation):
            return self.aggregation_bounds(node)
        if isinstance(node, Unary):
            inner = self.bounds(node.expr)
            return inner if node.op == "+" else Bounds(-inner.high, -inner.low, "")
        if isinstance(node, Binary):
            return self.binary_bounds(node)
        return UNBOUNDED

    def selector_bounds(self, node: VectorSelector) -> Bounds:
        name = node.name or ""
        if name.count(":") == 2 and _RATIO_WORD in name.rsplit(":", 1)[1]:
            return Bounds(0.0, 1.0, f"{name} is a recorded ratio (0 to 1)")
        info = self.series(name)
        if info is None:
            return UNBOUNDED
        if info.metric.value_range is not None:
            low, high = info.metric.value_range
            return Bounds(low, high, f"{name} is always between {low:g} and {high:g}")
        if info.is_counter:
            return Bounds(0.0, math.inf, f"{name} is a counter, never negative")
        return UNBOUNDED

    def call_bounds(self, node: Call) -> Bounds:
        if node.func in RATE_FUNCTIONS:
            return Bounds(0.0, math.inf, f"{node.func}() is never negative")
        if node.func in ("absent", "absent_over_time"):
            return Bounds(1.0, 1.0, f"{node.func}() is 1 or nothing")
        if node.func == "histogram_quantile":
            return self.quantile_bounds(node)
        if node.func in _NON_NEGATIVE:
            return Bounds(0.0, math.inf, f"{node.func}() is never negative")
        if node.func in _RANGE_KEEPING and node.args:
            return self.bounds(node.args[-1] if node.func == "quantile_over_time" else node.args[0])
        return UNBOUNDED

    def quantile_bounds(self, node: Call) -> Bounds:
        for selector in walk(node):
            info = self.series(selector.name) if isinstance(selector, VectorSelector) else None
            if info is not None and info.is_bucket and info.metric.largest_bucket is not None:
                top = info.metric.largest_bucket
                why = (
                    f"histogram_quantile of {info.metric.name} is at most its largest finite bucket "
                    f"({top:g}); above it the quantile is unknown"
                )
                return Bounds(0.0, top, why)
        return UNBOUNDED

    def aggregation_bounds(self, node: Aggregation) -> Bounds:
        inner = self.bounds(node.expr)
        if node.op in ("min", "max", "avg", "quantile", "topk", "bottomk", "limitk", "limit_ratio"):
            return inner
        if node.op == "group":
            return Bounds(1.0, 1.0, "group() is always 1")
        if node.op in ("count", "stddev", "stdvar") or (node.op == "sum" and inner.low >= 0):
            return Bounds(0.0, math.inf, f"{node.op}() here is never negative")
        return UNBOUNDED

    def binary_bounds(self, node: Binary) -> Bounds:
        if node.op in COMPARISONS:
            if node.return_bool:
                return Bounds(0.0, 1.0, "a comparison with bool is 0 or 1")
            # A filter keeps the values of its vector side.
            return self.bounds(node.rhs if constant_value(node.lhs) is not None else node.lhs)
        if node.op in ("and", "unless"):
            return self.bounds(node.lhs)
        lhs, rhs = self.bounds(node.lhs), self.bounds(node.rhs)
        if node.op == "or":
            return Bounds(min(lhs.low, rhs.low), max(lhs.high, rhs.high), lhs.why or rhs.why)
        if node.op == "/" and _is_part_of_whole(node.lhs, node.rhs):
            return Bounds(0.0, 1.0, "it is a ratio of part of a counter to the whole of it (0 to 1)")
        if node.op == "+":
            return Bounds(lhs.low + rhs.low, lhs.high + rhs.high, "")
        if node.op == "-":
            return Bounds(lhs.low - rhs.high, lhs.high - rhs.low, "")
        if node.op in ("*", "/") and lhs.low >= 0 and rhs.low >= 0:
            return Bounds(0.0, math.inf, "")
        return UNBOUNDED


def _rate_sum(node: Node) -> tuple[str, tuple[str, ...], bool, str, VectorSelector] | None:
    """(aggregation, grouping, without, function, selector) of `agg by (..) (rate(sel[w]))` shapes."""
    node = unwrap(node)
    op, without = "", False
    grouping: tuple[str, ...] = ()
    if isinstance(node, Aggregation) and node.op == "sum":
        op, grouping, without = node.op, tuple(node.grouping), node.without
        node = unwrap(node.expr)
    if isinstance(node, Call) and node.func in RATE_FUNCTIONS and node.args:
        selector = unwrap(node.args[0])
        if isinstance(selector, VectorSelector) and selector.name:
            return op, grouping, without, f"{node.func}[{selector.range}]", selector
    return None


def _family(name: str) -> str:
    return name.removesuffix("_bucket").removesuffix("_count")


def _is_part_of_whole(numerator: Node, denominator: Node) -> bool:
    """sum(rate(x{a,b}[w])) / sum(rate(x{a}[w])): the numerator counts a subset of the denominator.

    Also a histogram's bucket over its count, which is the subset of events at most that bound.
    """
    top, bottom = _rate_sum(numerator), _rate_sum(denominator)
    if top is None or bottom is None or top[:4] != bottom[:4]:
        return False
    part, whole = top[4], bottom[4]
    assert part.name and whole.name
    same = part.name == whole.name or (
        part.name.endswith("_bucket")
        and whole.name.endswith("_count")
        and _family(part.name) == _family(whole.name)
    )
    whole_matchers = {m for m in whole.matchers if m.label != "le"}
    return same and whole_matchers <= set(part.matchers)


# ---- which labels an expression's result carries ------------------------------------------------


def _labels(node: Node, context: _Context) -> frozenset[str] | None:
    """Labels the result can carry; None when it cannot be known (unknown metric, label_replace)."""
    node = unwrap(node)
    if isinstance(node, VectorSelector):
        info = context.series(node.name)
        return info.labels if info is not None else None
    if isinstance(node, Subquery | Unary):
        return _labels(node.expr, context)
    if isinstance(node, Aggregation):
        inner = _labels(node.expr, context)
        if not node.without:
            return frozenset(node.grouping) if inner is None else frozenset(node.grouping) & inner
        return None if inner is None else inner - set(node.grouping)
    if isinstance(node, Call):
        if node.func in ("label_replace", "label_join"):
            return None
        if node.func in ("vector", "time", "scalar") or not node.args:
            return frozenset()
        arg = node.args[1] if node.func in ("histogram_quantile", "quantile_over_time") else node.args[0]
        inner = _labels(arg, context)
        return inner - {"le"} if inner is not None and node.func == "histogram_quantile" else inner
    if isinstance(node, Binary):
        lhs, rhs = _labels(node.lhs, context), _labels(node.rhs, context)
        return None if lhs is None or rhs is None else lhs | rhs
    return frozenset()


# ---- the checks ---------------------------------------------------------------------------------


def check_expression(expr: str, scrape_interval_s: float = 15, recorded: Iterable[str] = ()) -> list[str]:
    """Problems found in one PromQL expression; empty when none.

    `recorded` names series recorded elsewhere (e.g. by the same rule file): known, any labels.
    """
    try:
        tree = parse(expr)
    except PromQLSyntaxError as error:
        return [f"not valid PromQL: {error}"]
    context = _Context(frozenset(recorded))
    problems: list[str] = []
    for node in walk(tree):
        if isinstance(node, VectorSelector):
            problems += _selector_problems(node, context, scrape_interval_s)
        elif isinstance(node, Call):
            problems += _call_problems(node, context, expr)
        elif isinstance(node, Aggregation):
            problems += _grouping_problems(node, context, expr)
        elif isinstance(node, Binary):
            problems += _comparison_problems(node, context, expr)
    return list(dict.fromkeys(problems))


def _selector_problems(node: VectorSelector, context: _Context, scrape_interval_s: float) -> list[str]:
    problems = []
    if node.name is not None and not context.known(node.name):
        family = catalog.metric(node.name)
        if family is not None and family.type == catalog.HISTOGRAM:
            problems.append(f"{node.name} is a histogram: select {node.name}_bucket, _count or _sum")
        else:
            problems.append(f"unknown metric {node.name} (not in alerts/catalog.py)")
    info = context.series(node.name)
    if info is not None and info.labels is not None:
        problems += [
            f"{node.name} has no label {m.label} (it has: {', '.join(sorted(info.labels))})"
            for m in node.matchers
            if m.label != "__name__" and m.label not in info.labels
        ]
    if node.range and not node.range.startswith("$"):
        seconds = parse_duration(node.range)
        if seconds < 4 * scrape_interval_s:
            problems.append(
                f"window [{node.range}] on {node.name} is shorter than 4 x the scrape interval "
                f"({4 * scrape_interval_s:g}s): one missed scrape leaves rate() nothing to work with"
            )
    return problems


def _call_problems(node: Call, context: _Context, expr: str) -> list[str]:
    if node.func in RATE_FUNCTIONS and node.args:
        target = unwrap(node.args[0])
        info = context.series(target.name) if isinstance(target, VectorSelector) else None
        if info is not None and not info.is_counter:
            return [f"{node.func}() of {info.name}, a {info.metric.type}: use deriv() or delta() for gauges"]
    if node.func == "histogram_quantile" and len(node.args) == 2:
        return _quantile_problems(node, context, expr)
    return []


def _quantile_problems(node: Call, context: _Context, expr: str) -> list[str]:
    problems = []
    q = constant_value(node.args[0])
    if q is not None and not 0 <= q <= 1:
        problems.append(f"histogram_quantile({q:g}, ...): a quantile is between 0 and 1")
    inner = unwrap(node.args[1])
    text = expr[inner.start : inner.end]
    buckets = [s for s in walk(inner) if isinstance(s, VectorSelector) and s.name]
    if buckets and not any(s.name.endswith("_bucket") or ":" in s.name for s in buckets if s.name):
        problems.append(f"histogram_quantile over {text}: it needs the _bucket series of a histogram")
    if isinstance(inner, Aggregation):
        labels = _labels(inner, context)
        if labels is not None and "le" not in labels:
            problems.append(
                f"histogram_quantile over {text}: the aggregation drops le; keep it with by (..., le)"
            )
    elif not (isinstance(inner, VectorSelector) and inner.name and ":" in inner.name):
        problems.append(
            f"histogram_quantile over {text} is not aggregated: it gives one quantile per series "
            "(per pod, method, route); use sum by (le) (rate(..._bucket[w]))"
        )
    return problems


def _grouping_problems(node: Aggregation, context: _Context, expr: str) -> list[str]:
    inner = _labels(node.expr, context)
    if inner is None or not node.grouping:
        return []
    missing = [label for label in node.grouping if label not in inner]
    clause = "without" if node.without else "by"
    inside = expr[node.expr.start : node.expr.end]
    return [f"{node.op} {clause} ({label}): nothing inside {inside} has a label {label}" for label in missing]


def _comparison_problems(node: Binary, context: _Context, expr: str) -> list[str]:
    comparison = _comparison(node, expr)
    if comparison is None:
        return []
    constant = comparison.constant
    subject = node.lhs if constant_value(node.rhs) is not None else node.rhs
    bounds = context.bounds(subject)
    impossible = {
        ">": constant >= bounds.high,
        ">=": constant > bounds.high,
        "<": constant <= bounds.low,
        "<=": constant < bounds.low,
        "==": not bounds.low <= constant <= bounds.high,
        "!=": bounds.low == bounds.high == constant,
    }[comparison.op]
    if not impossible:
        return []
    return [f"{comparison.subject} {comparison.op} {constant:g} can never be true: {bounds.why}"]
