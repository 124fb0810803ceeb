"""A linter for Prometheus rule files, in the spirit of Cloudflare's pint: `python -m alerts.lint PATH...`.

Takes any rule file: plain `groups:` or a PrometheusRule custom resource. Per rule it reports the
PromQL problems of alerts/promql.py (unknown metrics and labels, short windows, unaggregated
quantiles, comparisons that cannot hold) and the house rules: every alert has a severity
(page|ticket|info), a summary, a description and a runbook_url; a paging alert has a `for`;
recording rules are named level:metric:operations; no alert name twice in a file.
One line per finding, `path:group:rule: problem`; exit status 1 if there is any.

A file may say which scrape interval its windows are for with a comment line
`# lint: scrape_interval=2s` (the local-stack rules do); otherwise --scrape-interval applies.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alerts import generate
from alerts.durations import parse_duration
from alerts.promql import check_expression

SEVERITIES = ("page", "ticket", "info")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
RECORD_NAME = re.compile(r"^[a-zA-Z_]\w*:\w+:\w+$")
_DIRECTIVE = re.compile(r"^#\s*lint:\s*scrape_interval=(\S+)\s*$", re.MULTILINE)
DEFAULT_SCRAPE_INTERVAL_S = 15.0


@dataclass(frozen=True)
class Finding:
    path: str
    group: str
    rule: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.group}:{self.rule}: {self.problem}"


def _groups(document: Any) -> list[Any] | None:
    """The rule groups of a plain rule file or of a PrometheusRule; None if it is neither."""
    if not isinstance(document, dict):
        return None
    if document.get("kind") == "PrometheusRule":
        document = document.get("spec") or {}
    groups = document.get("groups")
    return groups if isinstance(groups, list) else None


def _rules(groups: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for group in groups:
        for rule in (group or {}).get("rules") or []:
            yield str((group or {}).get("name", "-")), rule


def _rule_name(rule: dict[str, Any]) -> str:
    return str(rule.get("alert") or rule.get("record") or "-")


def _alert_problems(rule: dict[str, Any]) -> list[str]:
    problems = []
    severity = (rule.get("labels") or {}).get("severity")
    if severity not in SEVERITIES:
        found = "missing" if severity is None else f"{severity!r}"
        problems.append(f"label severity is {found}; it must be one of {', '.join(SEVERITIES)}")
    annotations = rule.get("annotations") or {}
    problems += [
        f"annotation {name} is missing" for name in REQUIRED_ANNOTATIONS if not annotations.get(name)
    ]
    if severity == "page" and not _holds(rule.get("for")):
        problems.append("a paging alert needs a `for`, so that one bad evaluation does not wake anyone")
    return problems


def _holds(duration: Any) -> bool:
    try:
        return parse_duration(str(duration)) > 0
    except ValueError:
        return False


def _record_problems(rule: dict[str, Any]) -> list[str]:
    name = str(rule["record"])
    if RECORD_NAME.match(name):
        return []
    return [
        f"recording rule name {name} does not follow level:metric:operations (e.g. job:http_requests:rate5m)"
    ]


def lint_text(text: str, path: str, scrape_interval_s: float = DEFAULT_SCRAPE_INTERVAL_S) -> list[Finding]:
    """The findings in the rule file `text` (`path` only names it in the findings)."""
    if directive := _DIRECTIVE.search(text):
        scrape_interval_s = parse_duration(directive.group(1))
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        return [Finding(path, "-", "-", f"not YAML: {error}")]
    findings: list[Finding] = []
    seen_alerts: set[str] = set()
    for document in documents:
        groups = _groups(document)
        if groups is None:
            findings.append(
                Finding(path, "-", "-", "not a rule file: no `groups` (nor a PrometheusRule's spec.groups)")
            )
            continue
        recorded = {
            str(rule["record"]) for _, rule in _rules(groups) if isinstance(rule, dict) and "record" in rule
        }
        for group, rule in _rules(groups):
            findings += [
                Finding(path, group, _rule_name(rule), problem)
                for problem in _rule_problems(rule, recorded, seen_alerts, scrape_interval_s)
            ]
    return findings


def _rule_problems(
    rule: Any, recorded: set[str], seen_alerts: set[str], scrape_interval_s: float
) -> list[str]:
    if not isinstance(rule, dict) or ("alert" in rule) == ("record" in rule):
        return ["a rule is either an alert or a record, with an expr"]
    problems = check_expression(str(rule.get("expr", "")), scrape_interval_s, recorded)
    if "record" in rule:
        return problems + _record_problems(rule)
    name = str(rule["alert"])
    if name in seen_alerts:
        problems.append(f"alert {name} is defined more than once in this file")
    seen_alerts.add(name)
    return problems + _alert_problems(rule)


def lint_file(path: Path | str, scrape_interval_s: float = DEFAULT_SCRAPE_INTERVAL_S) -> list[Finding]:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        return [Finding(str(path), "-", "-", f"cannot read: {error.strerror}")]
    return lint_text(text, str(path), scrape_interval_s)


def project_rule_files() -> list[Path]:
    """Every rule file this repository generates."""
    return [*sorted(generate.GENERATED.glob("*/*.yaml")), generate.PROMETHEUS_RULE]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alerts.lint", description=__doc__.split("\n")[0])
    parser.add_argument(
        "paths", nargs="*", type=Path, help="rule files, plain or PrometheusRule (default: the project's own)"
    )
    parser.add_argument(
        "--scrape-interval",
        type=parse_duration,
        default=DEFAULT_SCRAPE_INTERVAL_S,
        help="scrape interval the rules run with, for files without a lint directive (default 15s)",
    )
    args = parser.parse_args(argv)
    paths = args.paths or project_rule_files()
    findings = [finding for path in paths for finding in lint_file(path, args.scrape_interval)]
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
