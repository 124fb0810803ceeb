"""What a check reports, and the three ways `tronops lint` prints it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """What a check yields: a message, and where in its document (a key path, or a line of a text)."""

    message: str
    at: tuple[str | int, ...] = ()
    line: int | None = None


def problem(message: str, *at: str | int) -> Problem:
    return Problem(message, tuple(at))


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    check: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.check}] {self.message}"


def as_text(findings: Iterable[Finding]) -> str:
    return "".join(f"{finding}\n" for finding in findings)


def as_github(findings: Iterable[Finding]) -> str:
    """GitHub workflow commands: each finding becomes an annotation on its file and line."""

    def escape(text: str, *, property: bool = False) -> str:
        # As @actions/core escapes them (toCommandValue / toCommandProperties).
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if property else text

    return "".join(
        f"::error file={escape(f.path, property=True)},line={f.line},title={escape(f.check, property=True)}"
        f"::{escape(f.message)}\n"
        for f in findings
    )


def as_json(findings: Iterable[Finding], checked: Mapping[str, int], skipped: Iterable[str]) -> str:
    return json.dumps(
        {"findings": [asdict(f) for f in findings], "checked": dict(checked), "skipped": list(skipped)},
        indent=2,
    )
