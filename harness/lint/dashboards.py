"""Grafana dashboard JSON (a model, or the HTTP API's {"dashboard": {...}}): everything
`tronops dashboards lint` checks, and the catalogue's meanings of what each panel reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from dashboards import lint as dashboards_lint
from dashboards.expressions import expand, variable_values
from dashboards.lint import panels
from harness.lint.documents import Document
from harness.lint.findings import Problem
from harness.lint.meaning import label_value_problems, one_hot_problems
from harness.lint.registry import check, kind
from harness.lint.run import Run

_PANEL = re.compile(r"^panel '(?P<title>.*?)'")


def model(document: Document) -> dict[str, Any]:
    data = document.data
    inner = data.get("dashboard") if isinstance(data, dict) else None
    return inner if isinstance(inner, dict) else data


@kind("grafana-dashboard", "Grafana dashboard JSON")
def is_dashboard(document: Document) -> bool:
    if document.path.suffix != ".json" or not isinstance(document.data, dict):
        return False
    found = model(document)
    return isinstance(found.get("panels"), list) or isinstance(found.get("rows"), list)


def title_line(document: Document, title: str) -> int:
    """The line a panel's title is on (JSON keeps no positions once parsed)."""
    needle = f'"title": {json.dumps(title)}'
    for number, line in enumerate(document.text.splitlines(), 1):
        if needle in line or needle.replace(": ", ":") in line:
            return number
    return 1


@check("grafana-dashboard", "dashboard")
def dashboard(document: Document, run: Run) -> Iterator[Problem]:
    """Everything `tronops dashboards lint` checks: datasource variable, $__rate_interval, units, titles,
    targets, template variables, and every query's PromQL against the catalogue."""
    for finding in dashboards_lint.lint_dashboard(model(document)):
        title = _PANEL.match(finding.where)
        line = title_line(document, title["title"]) if title else 1
        yield Problem(f"{finding.rule}: {finding.where}: {finding.message}", line=line)


@check("grafana-dashboard", "dashboard-meaning")
def dashboard_meaning(document: Document, run: Run) -> Iterator[Problem]:
    """Panels read metrics as the catalogue defines them: label values they have, and a one-hot gauge
    shown through value mappings only with its state chosen."""
    found = model(document)
    values = variable_values((found.get("templating") or {}).get("list") or [])
    for panel in panels(found):
        title = str(panel.get("title", ""))
        mapped = bool(((panel.get("fieldConfig") or {}).get("defaults") or {}).get("mappings"))
        for target in panel.get("targets") or []:
            expr, _ = expand(str(target.get("expr") or ""), values)
            messages = label_value_problems(expr) + (one_hot_problems(expr) if mapped else [])
            for message in messages:
                yield Problem(f"panel '{title}': {message}", line=title_line(document, title))
