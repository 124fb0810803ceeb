"""promtool unit tests for the burn-rate alerts, written from the SLO file so that they follow it.

Each SLO gets the same stories, with bad events at multiples of its error budget that fall between
the policy's burn rates (14.4x, 6x, 3x, 1x): a steady burn just above each window pair's rate fires
that pair's alert after its `for` and no alert of a higher pair; a burn within budget fires nothing;
a burst after a clean history pages through the 1h/5m pair long before the 6h/30m pair could; and a
page stops soon after the burning stops, thanks to the short windows, while the long ones still burn.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.durations import parse_duration
from alerts.slo_rules import alert_name
from alerts.slos import BurnRateAlert, BurnWindows, Slo, SloFile

EVENTS_PER_MINUTE = 100_000  # enough for a whole number of bad events at half a 0.1 % budget
# Events a rule could wrongly count as bad: 4xx responses (good: the service did its job) and
# cancelled payouts (not events: they never ran).
MISLEADING_PER_MINUTE = 1_000
STEP_MINUTES = 1
# Bad events as multiples of the error budget: one just above each pair's rate, highest first.
MULTIPLES = (20.0, 10.0, 5.0, 2.0)
WITHIN = 0.5


@dataclass(frozen=True)
class Phase:
    minutes: int
    burn: float  # bad events per event, as a multiple of the error budget


@dataclass(frozen=True)
class Pair:
    """One window pair of one burn-rate alert."""

    alert: BurnRateAlert
    windows: BurnWindows

    @property
    def label(self) -> str:
        return f"{self.windows.long}/{self.windows.short}"


def _minutes(duration: str) -> int:
    return int(parse_duration(duration) // 60)


def pairs(slo_file: SloFile) -> list[Pair]:
    """Every window pair, highest burn rate first, once MULTIPLES are known to fall between them."""
    found = sorted(
        (Pair(alert, windows) for alert in slo_file.burn_rate_alerts for windows in alert.windows),
        key=lambda pair: -pair.windows.burn_rate,
    )
    rates = [pair.windows.burn_rate for pair in found]
    between = len(rates) == len(MULTIPLES) and all(
        rate < multiple < higher
        for rate, multiple, higher in zip(rates, MULTIPLES, [math.inf, *rates[:-1]], strict=True)
    )
    if not between or rates[-1] <= WITHIN:
        raise ValueError("the burn-rate policy changed: choose MULTIPLES and WITHIN between its rates")
    return found


def _counter(phases: list[Phase], per_minute: Callable[[Phase], int]) -> str:
    """promtool's expanding notation for a counter from 0 that grows per_minute(phase) each minute."""
    parts, value = [], 0
    for index, phase in enumerate(phases):
        step = per_minute(phase)
        if index == 0:
            parts.append(f"0+{step}x{phase.minutes}")
        else:
            parts.append(f"{value + step}+{step}x{phase.minutes - 1}")
        value += step * phase.minutes
    return " ".join(parts)


def _input_series(slo: Slo, route_group: str, phases: list[Phase]) -> list[dict[str, str]]:
    """The raw series the SLI of `slo` reads, with bad events as in `phases`."""
    route = f"/api/v1/{route_group}/example"

    def bad(phase: Phase) -> int:
        return round(EVENTS_PER_MINUTE * phase.burn * slo.error_budget)

    def good(phase: Phase) -> int:
        return EVENTS_PER_MINUTE - bad(phase)

    def every(phase: Phase) -> int:
        return EVENTS_PER_MINUTE

    def misleading(phase: Phase) -> int:
        return MISLEADING_PER_MINUTE

    def good_but_4xx(phase: Phase) -> int:
        return good(phase) - MISLEADING_PER_MINUTE

    if slo.kind == "availability":
        counters = [
            (f'http_requests_total{{method="POST",route="{route}",status="500"}}', bad),
            (f'http_requests_total{{method="POST",route="{route}",status="200"}}', good_but_4xx),
            (f'http_requests_total{{method="POST",route="{route}",status="404"}}', misleading),
        ]
    elif slo.kind == "latency":
        counters = [
            (
                f'http_request_duration_seconds_bucket{{method="GET",route="{route}",le="{slo.bucket_le}"}}',
                good,
            ),
            (f'http_request_duration_seconds_count{{method="GET",route="{route}"}}', every),
        ]
    elif slo.kind == "success":
        counters = [
            ('tron_payouts_processed_total{currency="USDT",status="failed"}', bad),
            ('tron_payouts_processed_total{currency="USDT",status="completed"}', good),
            ('tron_payouts_processed_total{currency="USDT",status="cancelled"}', misleading),
        ]
    else:
        raise ValueError(f"SLO {slo.name}: no test inputs for kind {slo.kind!r}")
    return [{"series": series, "values": _counter(phases, count)} for series, count in counters]


def _render(template: str, labels: dict[str, str], value: float) -> str:
    """The two template forms the burn-rate annotations use; anything else is a generator bug."""
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)
    # Prometheus's humanizePercentage is "%.4g%%" of value * 100.
    text = text.replace("{{ $value | humanizePercentage }}", f"{value * 100:.4g}%")
    if "{{" in text:
        raise ValueError(f"cannot render {template!r} for a test")
    return text


def _check(minute: float, alert: str, firing: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"eval_time": f"{minute:g}m", "alertname": alert} | ({"exp_alerts": firing} if firing else {})


class _Stories:
    """The stories of one SLO: `burning` is the instance (route group) the bad events hit."""

    def __init__(self, instances: list[Slo], rules: dict[str, dict[str, Any]], slo_file: SloFile) -> None:
        self.burning, self.healthy = instances[0], instances[1:2]
        self.group = self.burning.route_group or next(iter(slo_file.route_groups))
        self.pairs = pairs(slo_file)
        self.rules = rules
        if MULTIPLES[0] * self.burning.error_budget > 1:
            raise ValueError(
                f"SLO {self.burning.name}: a {MULTIPLES[0]:g}x burn is more than all events failing"
            )

    def name(self, alert: BurnRateAlert) -> str:
        return alert_name(self.burning.name, alert)

    def firing(self, alert: BurnRateAlert, burn: float) -> list[dict[str, Any]]:
        rule = self.rules[self.name(alert)]
        labels = rule["labels"] | self.burning.labels
        value = burn * self.burning.error_budget
        return [
            {
                "exp_labels": labels,
                "exp_annotations": {k: _render(v, labels, value) for k, v in rule["annotations"].items()},
            }
        ]

    def story(
        self, title: str, phases: list[Phase], checks: list[dict[str, Any]], others: Sequence[Slo] = ()
    ) -> dict:
        series = _input_series(self.burning, self.group, phases)
        minutes = sum(phase.minutes for phase in phases)
        for slo in others:
            series += _input_series(slo, slo.route_group or self.group, [Phase(minutes, 0)])
        return {
            "name": f"{self.burning.name}: {title}",
            "interval": f"{STEP_MINUTES}m",
            "input_series": series,
            "alert_rule_test": checks,
        }

    def all(self) -> list[dict[str, Any]]:
        return [*(self.steady(i) for i in range(len(self.pairs))), self.within(), self.fast(), self.reset()]

    def steady(self, index: int) -> dict[str, Any]:
        pair, burn = self.pairs[index], MULTIPLES[index]
        alert = self.name(pair.alert)
        fires_at = STEP_MINUTES + _minutes(pair.alert.hold)  # the first evaluation with two samples is at 1m
        quiet = {p.alert for p in self.pairs[:index]} - {p.alert for p in self.pairs[index:]}
        where = f", for route group {self.group} only" if self.healthy and index == 0 else ""
        return self.story(
            f"{burn:g}x the budget fires {alert} ({pair.alert.severity}) through {pair.label} "
            f"after {pair.alert.hold}{where}",
            [Phase(fires_at + 10, burn)],
            [_check(fires_at - STEP_MINUTES, alert), _check(fires_at, alert, self.firing(pair.alert, burn))]
            + [_check(fires_at + 10, self.name(a)) for a in quiet],
            self.healthy if index == 0 else (),
        )

    def within(self) -> dict[str, Any]:
        alerts = dict.fromkeys(self.name(pair.alert) for pair in self.pairs)
        return self.story(
            f"{WITHIN:g}x the budget (within it) fires nothing",
            [Phase(60, WITHIN)],
            [_check(60, a) for a in alerts],
        )

    def fast(self) -> dict[str, Any]:
        """After a clean history, a burst as long as the first pair's long window pages through that
        pair once the long window crosses its threshold (and `for` has passed), while the second
        pair's long window is still under its own; once the short window is clean the page stops,
        the long window still burning."""
        first, second = self.pairs[0], self.pairs[1]
        burn, alert, hold = MULTIPLES[0], self.name(first.alert), _minutes(first.alert.hold)
        long, short = _minutes(first.windows.long), _minutes(first.windows.short)
        history = _minutes(second.windows.long) // 2
        # The first minute of burning at which the long window is over the threshold: windows are
        # whole minutes of samples here, so the ratio is burn * minutes / long exactly.
        crossed = math.floor(long * first.windows.burn_rate / burn) + 1
        fires = crossed + hold + STEP_MINUTES
        stopped = long + short + 1  # the short window is clean
        second_burn = burn * long / (history + stopped)  # the second pair's long window, at most
        if not (
            fires < long
            and burn * (long - short - 1) / long > first.windows.burn_rate
            and second_burn < second.windows.burn_rate
        ):
            raise ValueError(
                "the burn-rate policy changed: the fast-detection story no longer tells the pairs apart"
            )
        return self.story(
            f"{burn:g}x for {first.windows.long} after {history} min clean pages through {first.label} "
            f"{fires} min in (while {second.windows.long} is under {second_burn:.2g}x) "
            f"and stops {short + 1} min after",
            [Phase(history, 0), Phase(long, burn), Phase(short + 5, 0)],
            [
                _check(history + crossed + hold - STEP_MINUTES, alert),
                _check(history + fires, alert, self.firing(first.alert, burn * fires / long)),
                _check(history + stopped, alert),
            ],
        )

    def reset(self) -> dict[str, Any]:
        """Burn as long as the slowest page pair's short window, then stop: once both short windows
        are clean the page stops, although that pair's long window is still over its threshold."""
        second = self.pairs[1]
        burn, alert = MULTIPLES[0], self.name(second.alert)
        burning = short = _minutes(second.windows.short)
        clean_at = burning + short + 5
        if not burn * burning / clean_at > second.windows.burn_rate:
            raise ValueError("the burn-rate policy changed: the reset story no longer shows the short window")
        return self.story(
            f"a page stops {clean_at - burning} min after the burning stops, "
            f"while {second.windows.long} still burns",
            [Phase(burning, burn), Phase(clean_at + 5 - burning, 0)],
            [_check(burning, alert, self.firing(second.alert, burn)), _check(clean_at, alert)],
        )


def burn_rate_tests(
    slo_file: SloFile, groups: dict[str, list[dict[str, Any]]], test_dir: Path, rules_dir: Path
) -> dict[str, dict[str, Any]]:
    """A promtool test file per SLO (its name -> content), testing the alerts of the rule file
    `slo-<name>.yaml` in `groups` (file name -> rule groups), as found in `rules_dir`."""
    files = {}
    for name, instances in slo_file.by_name().items():
        rule_file = f"slo-{name}.yaml"
        rules = {r["alert"]: r for g in groups[rule_file] for r in g["rules"] if "alert" in r}
        files[rule_file] = {
            "rule_files": [os.path.relpath(rules_dir / rule_file, test_dir)],
            "evaluation_interval": f"{STEP_MINUTES}m",
            "tests": _Stories(instances, rules, slo_file).all(),
        }
    return files
