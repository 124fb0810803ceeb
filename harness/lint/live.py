"""Live mode (`--prometheus URL`): every series a rule or panel reads exists in that Prometheus, as
pint's promql/series check does. A series recorded by a rule file of the run is not asked for (it
exists once those rules are loaded)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from alerts.promql_syntax import PromQLSyntaxError, VectorSelector, parse, walk
from dashboards.expressions import expand, variable_values
from dashboards.lint import panels
from harness.clients.http import ControlError
from harness.clients.prometheus import Prometheus
from harness.lint import dashboards, rules
from harness.lint.findings import Finding
from harness.lint.run import Run, shown

CHECK = "live-series"


class LiveError(RuntimeError):
    """Prometheus could not be asked: the message says which and why."""


def selector_text(selector: VectorSelector) -> str:
    matchers = ",".join(f'{m.label}{m.op}"{_escape(m.value)}"' for m in selector.matchers)
    return f"{selector.name or ''}{{{matchers}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _expressions(run: Run) -> Iterator[tuple[str, int, str]]:
    """(file, line, expression) of every rule and panel target of the run."""
    for document in run.of_kind("prometheus-rules"):
        for at, _, rule in rules.rules(document):
            yield shown(document.path), document.line(*at, "expr"), str(rule.get("expr", ""))
    for document in run.of_kind("grafana-dashboard"):
        model = dashboards.model(document)
        values = variable_values((model.get("templating") or {}).get("list") or [])
        for panel in panels(model):
            line = dashboards.title_line(document, str(panel.get("title", "")))
            for target in panel.get("targets") or []:
                yield shown(document.path), line, expand(str(target.get("expr") or ""), values)[0]


def _recorded(run: Run) -> set[str]:
    return {
        str(rule["record"])
        for document in run.of_kind("prometheus-rules")
        for _, _, rule in rules.rules(document)
        if "record" in rule
    }  # fmt: skip


def _answers(url: str) -> None:
    """Fail at once when nothing answers there (the API client would retry a refused connection)."""
    try:
        httpx.get(f"{url.rstrip('/')}/-/healthy", timeout=10.0)
    except httpx.HTTPError as error:
        raise LiveError(f"cannot query Prometheus at {url}: {error}") from None


def findings(run: Run, url: str) -> list[Finding]:
    _answers(url)
    prometheus = Prometheus(url)
    recorded = _recorded(run)
    answers: dict[str, bool] = {}

    def present(expr: str) -> bool:
        if expr not in answers:
            try:
                answers[expr] = bool(prometheus.query(f"count({expr})"))
            except ControlError as error:
                raise LiveError(f"cannot query Prometheus at {url}: {error}") from None
        return answers[expr]

    found = []
    for path, line, expr in _expressions(run):
        try:
            selectors = [n for n in walk(parse(expr)) if isinstance(n, VectorSelector) and n.name]
        except PromQLSyntaxError:
            continue  # the rules and dashboard checks report it
        for selector in selectors:
            text = selector_text(selector)
            if selector.name in recorded or "$" in text or present(text):
                continue
            if present(f'{{__name__="{selector.name}"}}'):
                message = f"{selector.name} is in {url}, but no series matches {text}"
            else:
                message = f"{selector.name} is not in {url}: nothing is scraped under that name"
            found.append(Finding(path, line, CHECK, message))
    return list(dict.fromkeys(found))
