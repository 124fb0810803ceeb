"""One lint run: read every file given, recognise each document's kinds, run every check, report."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness import objectives
from harness.lint import registry
from harness.lint.documents import STDIN, Document, Unreadable, expand, read
from harness.lint.findings import Finding

# Each module registers its kind and its checks when imported; this is the list of them.
CHECK_MODULES = ("kubernetes", "workloads", "istio", "rules", "dashboards", "compose", "operations")
BUNDLED_SCHEMAS = Path(__file__).with_name("schemas")
UNREADABLE = "unreadable"
SCHEMA = "schema"
_DISABLE = re.compile(r"^#\s*tronops-lint:\s*disable=([\w,-]+)", re.MULTILINE)


@dataclass(frozen=True)
class Options:
    schemas: Path = BUNDLED_SCHEMAS  # CRD JSON Schemas, laid out as <group>/<kind>_<version>.json
    kubernetes_version: str = "1.30"
    scrape_interval_s: float = 15.0  # for rule files without a `# lint: scrape_interval=` line
    disabled: frozenset[str] = frozenset()
    prometheus: str | None = None  # live mode: every series a rule or panel reads must exist there
    objectives: Path | None = None  # the service's facts (harness/objectives.yaml's layout); default ours


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # kind -> files with a document of it
    skipped: list[str] = field(default_factory=list)
    unreadable: int = 0

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 an unreadable file or nothing checked at all."""
        if self.unreadable or not self.checked:
            return 2
        return 1 if self.findings else 0

    def summary(self) -> str:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(self.checked.items())) or "nothing"
        lines = [f"checked {kinds}; {len(self.findings)} finding(s)"]
        if self.skipped:
            lines.append(
                f"skipped {len(self.skipped)} file(s) of no kind the linter knows (a Helm template: render "
                f"it, `helm template CHART | tronops lint -`): {' '.join(self.skipped)}"
            )
        if self.unreadable:
            lines.append(f"{self.unreadable} file(s) could not be read")
        return "\n".join(lines)


class Run:
    """Every document of the run, by kind; checks that compare files look the others up here."""

    def __init__(self, documents: Sequence[Document], options: Options) -> None:
        self.documents = list(documents)
        self.options = options
        self.facts = objectives.load(options.objectives) if options.objectives else objectives.current()
        self.invalid: set[str] = set()  # files the schema check rejected

    def of_kind(self, *kinds: str) -> list[Document]:
        """The documents of any of these kinds."""
        return [d for d in self.documents if set(kinds) & set(d.kinds)]

    def objects(self, *api_kinds: str) -> list[Document]:
        """The Kubernetes objects of these kinds (Deployment, CronJob, ...)."""
        return [d for d in self.documents if d.api_kind is not None and d.api_kind[1] in api_kinds]


def load_checks() -> list[registry.Check]:
    from importlib import import_module

    for module in CHECK_MODULES:
        import_module(f"harness.lint.{module}")
    return registry.CHECKS


def shown(path: Path) -> str:
    """A path as a user typed it: relative to the working folder when inside it."""
    if path == STDIN:
        return "<stdin>"
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def lint(paths: Iterable[Path], options: Options = Options()) -> Report:
    checks = load_checks()
    report = Report()
    documents: list[Document] = []
    kinds_of_files: Counter[str] = Counter()
    try:
        files = list(expand(list(paths)))
    except Unreadable as error:
        report.findings.append(Finding(str(error).split(":")[0], 1, UNREADABLE, str(error).split(": ", 1)[1]))
        report.unreadable += 1
        return report
    for path in files:
        try:
            found = read(path)
        except Unreadable as error:
            report.findings.append(Finding(shown(path), 1, UNREADABLE, str(error)))
            report.unreadable += 1
            continue
        for document in found:
            document.kinds = [k.name for k in registry.KINDS.values() if k.recognises(document)]
        kinds = {kind for document in found for kind in document.kinds}
        if not kinds:
            report.skipped.append(shown(path))
        kinds_of_files.update(kinds)
        documents += [d for d in found if d.kinds]
    report.checked = dict(kinds_of_files)
    run = Run(documents, options)
    # The schema check first: a document it rejects is not fit for the others to read.
    for check in sorted(checks, key=lambda c: c.name != SCHEMA):
        if check.name not in options.disabled:
            report.findings += _run_check(check, run)
            if check.name == SCHEMA:
                run.invalid = {f.path for f in report.findings if f.check == SCHEMA}
    if options.prometheus:
        from harness.lint import live

        report.findings += live.findings(run, options.prometheus)
    report.findings.sort()
    return report


def disabled_in(document: Document) -> set[str]:
    """Checks a file turns off for itself with a comment line `# tronops-lint: disable=CHECK[,CHECK]`."""
    return {name for found in _DISABLE.findall(document.text) for name in found.split(",")}


def _run_check(check: registry.Check, run: Run) -> list[Finding]:
    findings = []
    for document in run.of_kind(*check.kinds):
        if check.name in disabled_in(document):
            continue
        try:
            problems = list(check.function(document, run))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            # Too malformed for this check: where the schema check said why, that is enough.
            problems = []
            if shown(document.path) not in run.invalid:
                message = f"cannot check this document: {error!r}"
                findings.append(Finding(shown(document.path), document.line(), check.name, message))
        findings += [
            Finding(shown(document.path), p.line or document.line(*p.at), check.name, p.message)
            for p in problems
        ]
    return findings
