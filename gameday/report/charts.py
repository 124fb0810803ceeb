"""The day's timeline as inline SVG (no script, no CDN: the page opens offline from a file): requests
per second, p95 per route group and the error ratio over time, one plot each, every fault's window
shaded and numbered, every alert's firing and resolving marked. A plotted line carries
`data-points` (how many points it holds) so a browser check can count the plots that hold data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any

from gameday.report.rundir import seconds

WIDTH, HEIGHT = 1040, 190
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 26, 24
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
FIRING, RESOLVED, FAULT = "#c0392b", "#1e8449", "#f5b041"


@dataclass(frozen=True)
class Plot:
    """One panel: which series it draws and how a value is shown."""

    metric: str
    title: str
    unit: str
    scale: float  # shown value = stored value x scale


PLOTS = (
    Plot("requests_per_second", "Requests per second", "req/s", 1.0),
    Plot("p95_seconds", "p95 latency per route group", "ms", 1000.0),
    Plot("error_ratio", "Error ratio (share of requests that failed)", "%", 100.0),
)


def series_key(labels: dict[str, str]) -> str:
    """How a series is named on the page: its route group, or `all` for the whole service."""
    return labels.get("route_group") or ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "all"


def clock(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%H:%M:%S")


def colours(timeline: dict[str, Any]) -> dict[str, str]:
    keys = dict.fromkeys(series_key(s["labels"]) for s in timeline["series"])
    return {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(keys)}


def timeline_svgs(timeline: dict[str, Any]) -> list[str]:
    start, end = seconds(timeline["started_at"]), seconds(timeline["ended_at"])
    colour = colours(timeline)
    return [_plot(plot, timeline, start, max(end, start + 1), colour) for plot in PLOTS]


def _plot(plot: Plot, timeline: dict[str, Any], start: float, end: float, colour: dict[str, str]) -> str:
    series = [  # (name on the page, its points within the day)
        (series_key(s["labels"]), [p for p in s["points"] if start <= p[0] <= end])
        for s in timeline["series"]
        if s["name"] == plot.metric
    ]
    values = [v * plot.scale for _, points in series for _, v in points if v is not None]
    top = _nice_ceiling(max(values, default=0.0))
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(unix: float) -> float:
        """Where a moment falls; one outside the day is held at the plot's edge."""
        return LEFT + (min(max(unix, start), end) - start) / (end - start) * inner_w

    def y(value: float) -> float:
        return TOP + inner_h - value / top * inner_h

    parts = [
        f'<svg class="plot" data-metric="{plot.metric}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" aria-label="{escape(plot.title)}">',
        f'<text x="{LEFT}" y="15" class="plot-title">{escape(plot.title)} ({plot.unit})</text>',
    ]
    for number, fault in enumerate(timeline["faults"], 1):
        x0, x1 = x(seconds(fault["started_at"])), x(seconds(fault["ended_at"]))
        what = escape(f"fault {number}: {fault['name']} ({fault.get('experiment', '')})")
        parts.append(
            f'<rect class="fault" x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 2):.1f}" height="{inner_h}" '
            f'fill="{FAULT}" fill-opacity="0.28"><title>{what}</title></rect>'
            f'<text class="fault-label" x="{x0 + 3:.1f}" y="{TOP + 12}">F{number}</text>'
        )
    for i in range(5):
        value = top * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" class="tick" text-anchor="end">'
            f"{_short(value)}</text>"
        )
    for i in range(7):
        unix = start + (end - start) * i / 6
        anchor = "start" if i == 0 else "end" if i == 6 else "middle"  # the ends stay inside the plot
        parts.append(
            f'<text x="{x(unix):.1f}" y="{HEIGHT - 6}" class="tick" text-anchor="{anchor}">'
            f"{clock(unix)}</text>"
        )
    for key, points in series:
        d, count = _path(points, plot.scale, x, y)
        parts.append(
            f'<path class="series" data-series="{escape(key)}" data-points="{count}" d="{d}" fill="none" '
            f'stroke="{colour[key]}" stroke-width="1.8"><title>{escape(key)}</title></path>'
        )
    for number, alert in enumerate(timeline["alerts"], 1):
        parts += _alert_marks(number, alert, x, inner_h)
    if not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="empty">no data</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _alert_marks(number: int, alert: dict[str, Any], x: Any, inner_h: float) -> list[str]:
    marks = []
    for when, colour, verb in (("fired_at", FIRING, "fired"), ("resolved_at", RESOLVED, "resolved")):
        if not alert.get(when):
            continue
        at = x(seconds(alert[when]))
        what = escape(f"alert {number} {alert['alertname']} {verb} at {clock(seconds(alert[when]))}")
        marks.append(
            f'<line class="alert-{verb}" x1="{at:.1f}" x2="{at:.1f}" y1="{TOP}" y2="{TOP + inner_h}" '
            f'stroke="{colour}" stroke-dasharray="4 3" stroke-width="1.5"><title>{what}</title></line>'
            f'<text class="alert-label" x="{at + 2:.1f}" y="{TOP + inner_h - 4}" fill="{colour}">'
            f"A{number}{'↑' if verb == 'fired' else '↓'}</text>"
        )
    return marks


def _path(points: list[list[float | None]], scale: float, x: Any, y: Any) -> tuple[str, int]:
    """SVG path data; a null value (no traffic, no data) breaks the line instead of drawing zero."""
    commands, count, pen_down = [], 0, False
    for unix, value in points:
        if value is None:
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{x(unix):.1f},{y(value * scale):.1f}")
        count, pen_down = count + 1, True
    return " ".join(commands), count


def _nice_ceiling(value: float) -> float:
    """The axis top: the next 1, 2 or 5 x 10^n at or above the highest value (1 for an empty plot)."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= value * (1 - 1e-9))


def _short(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"
