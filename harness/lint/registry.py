"""The kinds of file the linter knows, how each is recognised, and the checks registered for each.

A check is one function, registered with `@check(kind, name)` (or a tuple of kinds): it takes one
document of its kind and the run (every document given, for checks that compare files: a
PodDisruptionBudget with its Deployment, an alert with the memory limit in a manifest) and yields
Problems. Adding a check is writing one such function in the module of its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.lint.documents import Document
from harness.lint.findings import Problem

if TYPE_CHECKING:
    from harness.lint.run import Run

CheckFunction = Callable[[Document, "Run"], Iterable[Problem]]


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    recognises: Callable[[Document], bool]


@dataclass(frozen=True)
class Check:
    kinds: tuple[str, ...]
    name: str
    function: CheckFunction

    @property
    def description(self) -> str:
        return (self.function.__doc__ or "").strip().split("\n")[0]


KINDS: dict[str, Kind] = {}
CHECKS: list[Check] = []


def kind(name: str, description: str) -> Callable[[Callable[[Document], bool]], Callable[[Document], bool]]:
    """Register a kind by the function that recognises its documents (by content, not file name)."""

    def register(recognises: Callable[[Document], bool]) -> Callable[[Document], bool]:
        KINDS[name] = Kind(name, description, recognises)
        return recognises

    return register


def check(kinds: str | tuple[str, ...], name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check of documents of these kinds; its name is what findings and --disable show."""

    def register(function: CheckFunction) -> CheckFunction:
        if any(c.name == name for c in CHECKS):
            raise ValueError(f"two checks named {name}")
        CHECKS.append(Check((kinds,) if isinstance(kinds, str) else kinds, name, function))
        return function

    return register
