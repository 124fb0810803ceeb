"""Prometheus duration strings ("5m", "1h30m", "250ms"), as Prometheus reads and writes them."""

from __future__ import annotations

import re

_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
_PART = re.compile(r"(\d+)(ms|[ywdhms])")
# Written from the largest unit down; years and weeks are left out so that "3d" stays "3d".
_FORMAT_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: str) -> float:
    """Seconds in `text`; ValueError when it is not a Prometheus duration."""
    position, seconds = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(f"{text!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact form: 8640 -> "2h24m", 0.5 -> "500ms"."""
    millis = round(seconds * 1000)
    if millis <= 0:
        raise ValueError(f"a Prometheus duration must be positive, got {seconds} s")
    whole, rest = divmod(millis, 1000)
    parts = []
    for unit, size in _FORMAT_UNITS:
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    if rest:
        parts.append(f"{rest}ms")
    return "".join(parts)


def scale_duration(text: str, factor: float) -> str:
    """`text` divided by `factor`, e.g. ("1h", 30) -> "2m"."""
    return format_duration(parse_duration(text) / factor)
