"""Lint Grafana dashboards in the spirit of Grafana's dashboard-linter: `python -m dashboards.lint [FILE...]`.

Checks that the dashboard queries Prometheus through a datasource variable, that rates use
$__rate_interval, that every panel has a unit, targets and a unique title, and that every expression
passes alerts.promql.check_expression (the same check the alert rules get). One line per finding; exit 1
if there are any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafanalib import formatunits

from alerts.promql import check_expression
from dashboards.build import OUTPUT
from dashboards.expressions import RATE_INTERVAL_FORMS, expand, rate_ranges, variable_values

# Each kind of mistake the lint reports, with what it expects.
RULES = {
    "datasource-variable": "the dashboard has a Prometheus datasource template variable",
    "panel-datasource": "every panel and target queries through the datasource variable",
    "rate-interval": "rate, irate and increase take $__rate_interval as their range",
    "panel-unit": "every panel has a known unit (fieldConfig.defaults.unit)",
    "panel-title": "every panel has a title, and no two panels share one",
    "panel-targets": "every panel except rows and text has at least one target",
    "target-refid": "every target has a refId, unique within its panel",
    "template-query": "job and instance variables are label_values queries through the datasource variable",
    "template-undefined": "expressions use only variables the dashboard defines",
    "promql": "every expression passes alerts.promql.check_expression",
}
PANELS_WITHOUT_QUERIES = {"row", "text", "news", "dashlist", "alertlist", "annolist"}
KNOWN_UNITS = {v for k, v in vars(formatunits).items() if k.isupper() and isinstance(v, str)}
CUSTOM_UNIT_PREFIXES = ("suffix:", "prefix:", "si:", "count:", "currency:", "time:")
LABEL_VARIABLES = ("job", "instance")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$")


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str  # "dashboard", "panel 'Title'", "variable 'job'", ...
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.message}"


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel: top level, inside collapsed rows, and in old-style `rows`."""
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []
    for row in dashboard.get("rows") or []:
        yield from row.get("panels") or []


def _not_the_variable(datasource: Any, names: set[str]) -> str | None:
    """What is wrong with a datasource reference, unless it names a datasource variable. Without any
    such variable there is nothing to compare with: the datasource-variable rule reports that."""
    uid = datasource.get("uid") if isinstance(datasource, dict) else datasource
    if not names or uid in {form for name in names for form in (f"${name}", f"${{{name}}}")}:
        return None
    queried = f"queries datasource {uid!r}" if uid else "has no datasource (Grafana's default is queried)"
    return f"{queried}, not the variable ${' or $'.join(sorted(names))}"


def _check_datasource_variable(variables: list[dict[str, Any]]) -> Iterator[Finding]:
    if not any(v.get("type") == "datasource" and v.get("query") == "prometheus" for v in variables):
        yield Finding(
            "datasource-variable", "dashboard", "no template variable of type datasource (prometheus)"
        )


def _check_label_variables(
    variables: list[dict[str, Any]], datasources: set[str], values: dict[str, str]
) -> Iterator[Finding]:
    for variable in variables:
        name = variable.get("name", "")
        if name not in LABEL_VARIABLES:
            continue
        where = f"variable '{name}'"
        query = variable.get("query")
        query = query.get("query", "") if isinstance(query, dict) else str(query or "")
        if variable.get("type") != "query":
            yield Finding("template-query", where, f"should be a query variable, is {variable.get('type')!r}")
        wrong_datasource = _not_the_variable(variable.get("datasource"), datasources)
        if wrong_datasource:
            yield Finding("template-query", where, wrong_datasource)
        parsed = _LABEL_VALUES.match(query)
        if not parsed or parsed["label"] != name:
            yield Finding(
                "template-query", where, f"query should be label_values(<selector>, {name}): {query!r}"
            )
        elif parsed["selector"]:
            selector, _ = expand(parsed["selector"], values)
            for problem in check_expression(selector):
                yield Finding("template-query", where, problem)


def _check_panel(panel: dict[str, Any], datasources: set[str], values: dict[str, str]) -> Iterator[Finding]:
    where = f"panel '{panel.get('title', '')}'"
    wrong_datasource = _not_the_variable(panel.get("datasource"), datasources)
    if wrong_datasource:
        yield Finding("panel-datasource", where, wrong_datasource)
    unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
    if not unit:
        yield Finding("panel-unit", where, "has no unit")
    elif unit not in KNOWN_UNITS and not unit.startswith(CUSTOM_UNIT_PREFIXES):
        yield Finding("panel-unit", where, f"unit {unit!r} is not a Grafana unit")
    targets = panel.get("targets") or []
    if not targets:
        yield Finding("panel-targets", where, "has no targets")
    ref_ids = [t.get("refId") for t in targets]
    if not all(ref_ids):
        yield Finding("target-refid", where, "a target has no refId")
    duplicates = sorted({r for r in ref_ids if r and ref_ids.count(r) > 1})
    if duplicates:
        yield Finding("target-refid", where, f"refId {', '.join(duplicates)} used more than once")
    for position, target in enumerate(targets, 1):
        ref_id = target.get("refId") or f"#{position}"
        yield from _check_target(target, f"{where} target {ref_id}", datasources, values)


def _check_target(
    target: dict[str, Any], where: str, datasources: set[str], values: dict[str, str]
) -> Iterator[Finding]:
    # A target without its own datasource inherits the panel's.
    wrong_datasource = target.get("datasource") and _not_the_variable(target["datasource"], datasources)
    if wrong_datasource:
        yield Finding("panel-datasource", where, wrong_datasource)
    expr = target.get("expr") or ""
    if not expr.strip():
        yield Finding("promql", where, "has no expression")
        return
    for function, window in rate_ranges(expr):
        if window not in RATE_INTERVAL_FORMS:
            yield Finding("rate-interval", where, f"{function}() over [{window}], not [$__rate_interval]")
    expanded, undefined = expand(expr, values)
    for name in undefined:
        yield Finding("template-undefined", where, f"uses ${name}, which no template variable defines")
    for problem in check_expression(expanded):
        yield Finding("promql", where, problem)


def lint_dashboard(dashboard: dict[str, Any]) -> list[Finding]:
    variables: list[dict[str, Any]] = (dashboard.get("templating") or {}).get("list") or []
    datasources = {v.get("name", "") for v in variables if v.get("type") == "datasource"}
    values = variable_values(variables)
    findings = [
        *_check_datasource_variable(variables),
        *_check_label_variables(variables, datasources, values),
    ]
    titles: list[str] = []
    for panel in panels(dashboard):
        title = panel.get("title") or ""
        titles.append(title)
        if panel.get("type") in PANELS_WITHOUT_QUERIES:
            continue
        if not title.strip():
            findings.append(Finding("panel-title", f"panel id {panel.get('id')}", "has no title"))
        findings.extend(_check_panel(panel, datasources, values))
    for title in sorted({t for t in titles if t and titles.count(t) > 1}):
        findings.append(Finding("panel-title", f"panel '{title}'", f"title used {titles.count(title)} times"))
    return findings


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    # The HTTP API and the seed wrap the model as {"dashboard": {...}}.
    model = data.get("dashboard", data)
    return model if isinstance(model, dict) else data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.lint", description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, default=[OUTPUT], help=f"default: {OUTPUT}")
    args = parser.parse_args(argv)
    found = 0
    for path in args.files:
        try:
            findings = lint_dashboard(_load(path))
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read a dashboard: {exc}")
            found += 1
            continue
        for finding in findings:
            print(f"{path}: {finding}")
        found += len(findings)
    if not found:
        print(f"{len(args.files)} dashboard(s), no findings")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
