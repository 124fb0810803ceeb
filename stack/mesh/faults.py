"""Istio HTTPFaultInjection: parsed strictly (every error says what to fix) and kept per route.

Envoy's fault filter runs before the router: a delay is waited out first (response flag DI), then an
abort answers with its status and the body `fault filter abort` (flag FI) without reaching upstream.
Neither counts against the route's timeout, which starts in the router.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from stack.mesh.durations import format_duration, parse_duration

MIN_DELAY_SECONDS = 0.001  # Istio rejects a fixedDelay under 1 ms


class FaultError(ValueError):
    """The fault is not a valid (or not a supported) HTTPFaultInjection; the message says what to fix."""


@dataclass(frozen=True)
class Fault:
    delay_seconds: float | None = None
    delay_percent: float = 0.0
    abort_status: int | None = None
    abort_percent: float = 0.0

    def draw_delay(self) -> float | None:
        """The delay for this request, if its percentage picks it."""
        return self.delay_seconds if self.delay_seconds is not None and _roll(self.delay_percent) else None

    def draw_abort(self) -> int | None:
        """The status to abort this request with, if its percentage picks it."""
        return self.abort_status if self.abort_status is not None and _roll(self.abort_percent) else None

    def spec(self) -> dict[str, Any]:
        """The fault in Istio's own form, as it would be written in a VirtualService."""
        out: dict[str, Any] = {}
        if self.delay_seconds is not None:
            out["delay"] = {
                "fixedDelay": format_duration(self.delay_seconds),
                "percentage": {"value": self.delay_percent},
            }
        if self.abort_status is not None:
            out["abort"] = {"httpStatus": self.abort_status, "percentage": {"value": self.abort_percent}}
        return out


def _roll(percent: float) -> bool:
    return percent >= 100.0 or random.random() * 100.0 < percent


def parse_fault(body: object, where: str = "fault") -> Fault:
    if not isinstance(body, dict) or not body:
        raise FaultError(
            f"{where}: expected an HTTPFaultInjection object with 'delay' and/or 'abort', "
            'e.g. {"abort": {"httpStatus": 503, "percentage": {"value": 50}}}'
        )
    _only(body, {"delay", "abort"}, where)
    fault = Fault()
    if "delay" in body:
        delay = _object(body["delay"], f"{where}.delay")
        if "exponentialDelay" in delay:
            raise FaultError(
                f"{where}.delay.exponentialDelay is not supported (Envoy neither): use fixedDelay"
            )
        _only(delay, {"fixedDelay", "percentage", "percent"}, f"{where}.delay")
        if "fixedDelay" not in delay:
            raise FaultError(f"{where}.delay.fixedDelay is required, e.g. '2s' or '500ms'")
        try:
            seconds = parse_duration(delay["fixedDelay"], f"{where}.delay.fixedDelay")
        except ValueError as exc:
            raise FaultError(str(exc)) from None
        if seconds < MIN_DELAY_SECONDS:
            raise FaultError(f"{where}.delay.fixedDelay must be at least 1ms, got {delay['fixedDelay']!r}")
        fault = Fault(seconds, _percentage(delay, f"{where}.delay"))
    if "abort" in body:
        abort = _object(body["abort"], f"{where}.abort")
        for unsupported in ("grpcStatus", "http2Error"):
            if unsupported in abort:
                raise FaultError(
                    f"{where}.abort.{unsupported} is not supported by the HTTP/1.1 mesh: use httpStatus"
                )
        _only(abort, {"httpStatus", "percentage", "percent"}, f"{where}.abort")
        status = abort.get("httpStatus")
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise FaultError(
                f"{where}.abort.httpStatus must be an HTTP status code from 200 to 599, got {status!r}"
            )
        fault = Fault(fault.delay_seconds, fault.delay_percent, status, _percentage(abort, f"{where}.abort"))
    return fault


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FaultError(f"{where} must be an object, got {value!r}")
    return value


def _only(body: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise FaultError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _percentage(body: dict[str, Any], where: str) -> float:
    if "percent" in body:
        raise FaultError(f"{where}.percent is deprecated in Istio: use percentage: {{value: <0-100>}}")
    # Istio's docs and its translation to Envoy disagree on what a missing percentage means; be explicit.
    percentage = body.get("percentage")
    value = percentage.get("value") if isinstance(percentage, dict) else None
    if (
        not isinstance(percentage, dict)
        or set(percentage) != {"value"}
        or isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 100
    ):
        raise FaultError(
            f'{where}.percentage is required as {{"value": <number from 0 to 100>}}, got {percentage!r}'
        )
    return float(value)


class FaultTable:
    """The faults in force, per route name; the admin API edits it while traffic flows."""

    def __init__(self, initial: dict[str, Fault]) -> None:
        self._faults = dict(initial)

    def get(self, route: str) -> Fault | None:
        return self._faults.get(route)

    def put(self, route: str, fault: Fault) -> Fault | None:
        previous = self._faults.get(route)
        self._faults[route] = fault
        return previous

    def remove(self, route: str) -> Fault | None:
        return self._faults.pop(route, None)

    def reset(self) -> dict[str, Fault]:
        removed, self._faults = self._faults, {}
        return removed

    def active(self) -> dict[str, Fault]:
        return dict(self._faults)
