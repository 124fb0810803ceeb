"""HTTP routes as Istio turns them into Envoy routes: the first route whose match holds wins.

Within one `match` entry every condition must hold (AND); a route matches when any entry does (OR); a
route without `match` matches everything. Regexes are full matches (Envoy's RE2 `safe_regex`); `prefix`
is tested against the whole request target, `exact` and `regex` against the path without its query
string, as Envoy does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stack.mesh.faults import Fault
from stack.mesh.http1 import Headers


@dataclass(frozen=True, slots=True)
class StringMatch:
    kind: str  # exact | prefix | regex
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, text: str) -> bool:
        if self.kind == "prefix":
            return text.startswith(self.value)
        if self.kind == "exact":
            return text == self.value
        assert self.pattern is not None
        return self.pattern.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class HeaderCondition:
    name: str  # lower-case, as Istio requires
    match: StringMatch | None  # None: the header only has to be present
    absent: bool = False  # from `withoutHeaders`: the condition must NOT hold
    key: bytes = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.name.encode("latin-1"))

    def holds(self, headers: Headers) -> bool:
        values = [value for key, value in headers if key == self.key]
        if not values:
            return self.absent
        # Envoy matches a repeated header against its values joined with commas.
        found = self.match is None or self.match.matches(b",".join(values).decode("latin-1"))
        return found != self.absent


@dataclass(frozen=True, slots=True)
class RequestMatch:
    uri: StringMatch | None = None
    ignore_uri_case: bool = False
    method: StringMatch | None = None
    headers: tuple[HeaderCondition, ...] = ()

    def matches(self, method: str, target: str, headers: Headers) -> bool:
        if self.uri is not None:
            text = target if self.uri.kind == "prefix" else target.partition("?")[0]
            if self.ignore_uri_case and self.uri.kind != "regex":  # Istio ignores case for exact/prefix only
                text = text.lower()
            if not self.uri.matches(text):
                return False
        if self.method is not None and not self.method.matches(method):
            return False
        return all(condition.holds(headers) for condition in self.headers)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Envoy's retry policy as Istio builds it: `retries` is Envoy's num_retries (tries after the first)."""

    retries: int
    per_try_timeout: float | None
    retry_on: frozenset[str]
    retriable_status_codes: frozenset[int]
    backoff_base: float = 0.025  # Envoy's default base interval; Istio's `backoff` sets it
    istio_default: bool = False  # the route has no `retries`, so Istio's default policy applies


@dataclass(frozen=True)
class Route:
    name: str
    conditions: tuple[RequestMatch, ...]  # the `match` entries; empty: matches every request
    timeout: float | None  # the whole request's budget, retries included; None: no timeout
    retry: RetryPolicy | None  # None: `attempts: 0`, no retries at all
    fault: Fault | None  # the fault configured in the YAML (the admin API may change it live)
    match_spec: list[Any] = field(default_factory=list)  # the YAML `match`, as the admin API shows it
    # When every entry needs a case-sensitive exact or prefix uri, a request target starting with none of
    # them cannot match: one startswith() rules the route out before any entry is evaluated.
    gate: tuple[str, ...] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        uris = [c.uri for c in self.conditions if c.uri is not None and not c.ignore_uri_case]
        if self.conditions and len(uris) == len(self.conditions) and all(u.kind != "regex" for u in uris):
            object.__setattr__(self, "gate", tuple(u.value for u in uris))

    def applies_to(self, method: str, target: str, headers: Headers) -> bool:
        if self.gate is not None and not target.startswith(self.gate):
            return False
        return not self.conditions or any(c.matches(method, target, headers) for c in self.conditions)


class RouteTable:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.by_name = {route.name: route for route in routes}

    def select(self, method: str, target: str, headers: Headers) -> Route | None:
        for route in self.routes:
            if route.applies_to(method, target, headers):
                return route
        return None
