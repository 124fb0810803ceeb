"""Reading a panel's PromQL as Grafana would send it: template variables filled in, and the range of
each rate-like call found (with the parser the alert rules are read with)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from alerts.promql import RATE_FUNCTIONS
from alerts.promql_syntax import Call, PromQLSyntaxError, Subquery, VectorSelector, parse, unwrap, walk

# A value for each of Grafana's built-in variables that PromQL can contain; only their shape matters.
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
RATE_INTERVAL_FORMS = {"$__rate_interval", "${__rate_interval}"}

# $name, ${name} or ${name:format}, [[name]] or [[name:format]]
_VARIABLE = re.compile(r"\$\{(\w+)(?::[^}]*)?\}|\$([A-Za-z_]\w*)|\[\[(\w+)(?::[^\]]*)?\]\]")


def variable_values(templating: list[dict[str, Any]]) -> dict[str, str]:
    """Each template variable's current value, as it would appear in a query."""
    values: dict[str, str] = {}
    for variable in templating:
        current = (variable.get("current") or {}).get("value")
        if isinstance(current, list):
            current = "|".join(str(v) for v in current)
        if not current or current == "$__all":
            current = variable.get("allValue") or ".+"
        values[variable.get("name", "")] = str(current)
    return values


def expand(expr: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """The expression with every variable replaced, and the names of the ones nobody defines."""
    undefined: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name in BUILTINS:
            return BUILTINS[name]
        if name in variables:
            return variables[name]
        undefined.append(name)
        return match.group(0)

    return _VARIABLE.sub(substitute, expr), undefined


def rate_ranges(expr: str) -> Iterator[tuple[str, str]]:
    """(function, range) of each rate, irate and increase call, read from the expression as written."""
    try:
        tree = parse(expr)
    except PromQLSyntaxError:
        return  # the promql check reports it, once the variables are filled in
    for node in walk(tree):
        if isinstance(node, Call) and node.func in RATE_FUNCTIONS and node.args:
            argument = unwrap(node.args[0])
            if isinstance(argument, VectorSelector | Subquery) and argument.range:
                yield node.func, argument.range
