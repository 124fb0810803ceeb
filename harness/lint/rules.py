"""Prometheus rule files, plain (`groups:`) or PrometheusRule: everything `tronops alerts lint` checks,
plus what needs the rest of the run or the catalogue's meanings: thresholds the resource limits in
the run's manifests never let a metric cross, error alerts on absolute rates where a ratio is
meant, label values a metric never has, and one-hot gauges read as one 0/1 flag.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from alerts import lint as alerts_lint
from alerts.promql import RATE_FUNCTIONS, constant_value
from alerts.promql_syntax import (
    COMPARISONS,
    Binary,
    Call,
    Node,
    PromQLSyntaxError,
    VectorSelector,
    parse,
    unwrap,
    walk,
)
from harness.lint.documents import Document, Key
from harness.lint.findings import Problem, problem
from harness.lint.meaning import label_value_problems, one_hot_problems
from harness.lint.registry import check, kind
from harness.lint.run import Run
from harness.lint.workloads import containers

MEMORY_SERIES = {"container_memory_working_set_bytes", "container_memory_usage_bytes", "container_memory_rss"}
CPU_SERIES = {"container_cpu_usage_seconds_total"}
LIMIT_SERIES = {"kube_pod_container_resource_limits", "container_spec_memory_limit_bytes"}
STATUS_LABELS = {"status", "code", "response_code", "status_code"}
_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][-+]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_FACTORS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 1e-3}
_FACTORS |= {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


@kind("prometheus-rules", "Prometheus rule files and PrometheusRule objects")
def is_rule_file(document: Document) -> bool:
    if document.api_kind is not None:
        return document.api_kind[1] == "PrometheusRule"
    return isinstance(document.data, dict) and isinstance(document.data.get("groups"), list)


def rules(document: Document) -> Iterator[tuple[tuple[Key, ...], str, dict[str, Any]]]:
    """(key path, group name, rule) of every rule."""
    top: tuple[Key, ...] = ("spec", "groups") if document.api_kind else ("groups",)
    for g, group in enumerate(document.get(*top, default=[]) or []):
        for r, rule in enumerate((group or {}).get("rules") or [] if isinstance(group, dict) else []):
            if isinstance(rule, dict):
                yield (*top, g, "rules", r), str(group.get("name", "-")), rule


def alerts(document: Document) -> Iterator[tuple[tuple[Key, ...], str, Node]]:
    """(key path of the expr, alert name, parsed expr) of every alert whose expr parses."""
    for at, _, rule in rules(document):
        if "alert" in rule:
            try:
                yield (*at, "expr"), str(rule["alert"]), parse(str(rule.get("expr", "")))
            except PromQLSyntaxError:
                continue  # the rules check reports it


@check("prometheus-rules", "rules")
def alerts_lint_findings(document: Document, run: Run) -> Iterator[Problem]:
    """Everything `tronops alerts lint` checks: PromQL against the catalogue, labels, annotations,
    severities, `for` on paging alerts, recording rule names."""
    directives = "".join(line + "\n" for line in document.text.splitlines() if line.startswith("# lint:"))
    text = directives + yaml.safe_dump(document.data, sort_keys=False)
    where = {
        (group, str(rule.get("alert") or rule.get("record") or "-")): at
        for at, group, rule in rules(document)
    }
    for finding in alerts_lint.lint_text(text, str(document.path), run.options.scrape_interval_s):
        yield problem(finding.problem, *where.get((finding.group, finding.rule), ()))


def quantity(text: Any) -> float:
    """A Kubernetes resource quantity ("512Mi", "500m", "1") as a number of bytes or cores."""
    found = _QUANTITY.match(str(text))
    if not found:
        raise ValueError(f"not a resource quantity: {text!r}")
    return float(found.group(1)) * _FACTORS.get(found.group(2) or "", 1)


def limits(run: Run, resource: str) -> dict[str, float]:
    """Container name -> its largest limit of `resource` (memory: bytes, cpu: cores) in the run."""
    found: dict[str, float] = {}
    for workload in run.documents:
        for _, container in containers(workload):
            limit = ((container.get("resources") or {}).get("limits") or {}).get(resource)
            if limit is not None:
                name = str(container.get("name"))
                found[name] = max(found.get(name, 0.0), quantity(limit))
    return found


def _comparisons(tree: Node) -> Iterator[tuple[Node, str, float]]:
    """(subject, operator as if the subject were on the left, constant) of each comparison."""
    flipped = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
    for node in walk(tree):
        if isinstance(node, Binary) and node.op in COMPARISONS:
            left, right = constant_value(node.lhs), constant_value(node.rhs)
            if right is not None and left is None:
                yield node.lhs, node.op, right
            elif left is not None and right is None:
                yield node.rhs, flipped[node.op], left


def _selectors(node: Node) -> list[VectorSelector]:
    return [n for n in walk(node) if isinstance(n, VectorSelector) and n.name]


def _container(selector: VectorSelector) -> str | None:
    return next((m.value for m in selector.matchers if m.label == "container" and m.op == "="), None)


def _division(node: Node) -> Binary | None:
    return next((n for n in walk(node) if isinstance(n, Binary) and n.op == "/"), None)


@check("prometheus-rules", "threshold-beyond-limit")
def threshold_beyond_limit(document: Document, run: Run) -> Iterator[Problem]:
    """An alert on a container's memory or CPU never asks for more than the container's limit in the
    run's manifests allows: the OOM killer and CPU throttling stop it first."""
    memory, cpu = limits(run, "memory"), limits(run, "cpu")
    for at, name, tree in alerts(document):
        for subject, op, constant in _comparisons(tree):
            if op not in (">", ">="):
                continue
            division = _division(subject)
            used = [
                s
                for s in _selectors(division.lhs if division else subject)
                if s.name in MEMORY_SERIES | CPU_SERIES
            ]
            if not used:
                continue
            selector = used[0]
            is_cpu = selector.name in CPU_SERIES
            if division is not None:
                if any(s.name in LIMIT_SERIES for s in _selectors(division.rhs)) and constant >= 1:
                    stop = (
                        "CPU throttling holds it at the limit"
                        if is_cpu
                        else "the OOM killer acts at the limit"
                    )
                    yield problem(
                        f"alert {name}: usage / limit {op} {constant:g} can never happen: {stop}", *at
                    )
                continue
            container = _container(selector)
            limit = (cpu if is_cpu else memory).get(container or "")
            if limit is not None and constant >= limit:
                unit = f"{limit:g} cores" if is_cpu else f"{limit:.0f} bytes"
                stop = "it is throttled there" if is_cpu else "it is OOM-killed there"
                yield problem(
                    f"alert {name}: {selector.name}{{container={container!r}}} {op} {constant:g} can never "
                    f"happen: the container's {'cpu' if is_cpu else 'memory'} limit is {unit} and {stop}; "
                    "compare usage with the limit instead (usage / limit > 0.8)",
                    *at,
                )


def _counts_errors(selector: VectorSelector) -> bool:
    return any(
        m.label in STATUS_LABELS and m.op in ("=", "=~") and m.value.lstrip("(^").startswith("5")
        for m in selector.matchers
    )


@check("prometheus-rules", "error-ratio")
def error_ratio(document: Document, run: Run) -> Iterator[Problem]:
    """An alert on errors compares the share of requests that fail, not errors per second: an absolute
    rate stays silent at night and fires on every busy day."""
    for at, name, tree in alerts(document):
        for subject, _, constant in _comparisons(tree):
            if _division(subject) is not None:
                continue
            rated = [
                unwrap(call.args[0])
                for call in walk(subject)
                if isinstance(call, Call) and call.func in RATE_FUNCTIONS and call.args
            ]
            if any(isinstance(s, VectorSelector) and _counts_errors(s) for s in rated):
                yield problem(
                    f"alert {name} compares an absolute rate of errors with {constant:g}: divide by the rate "
                    "of all requests (sum(rate(errors)) / sum(rate(all))) to alert on the error ratio",
                    *at,
                )


@check("prometheus-rules", "metric-meaning")
def metric_meaning(document: Document, run: Run) -> Iterator[Problem]:
    """Rules read metrics as the catalogue defines them: label values they have, one-hot states chosen."""
    for at, _, rule in rules(document):
        expr = str(rule.get("expr", ""))
        for message in label_value_problems(expr):
            yield problem(message, *at, "expr")
        if "alert" in rule:
            for message in one_hot_problems(expr):
                yield problem(message, *at, "expr")
