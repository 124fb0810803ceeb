"""Istio duration strings ("30s", "1.5s", "100ms", "1m30s"), as Go's time.ParseDuration reads them."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: object, field: str) -> float:
    """Seconds in `text`; ValueError naming `field` and the expected form when it is not a duration."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"{field}: expected a duration string such as '2s' or '500ms', got {text!r}")
    position, seconds = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ValueError(f"{field}: {text!r} is not a duration; use a number with a unit: h, m, s, ms")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact Istio form: whole seconds as "30s", the rest in milliseconds ("250ms")."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000, 3):g}ms"
