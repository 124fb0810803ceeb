"""Loading the SLO file and turning each SLO into PromQL, for rules, dashboards and load gates alike."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from alerts.durations import parse_duration
from harness.objectives import Objectives, RouteGroup, SloSpec, current


def sli_record(window: str) -> str:
    """The recorded series of every SLI's bad-event ratio over `window` (level:metric:operations)."""
    return f"slo:sli_error:ratio_rate{window}"


@dataclass(frozen=True)
class Slo(SloSpec):
    """An SLO as alerts and dashboards compute it: one per route group where the SLO is per group."""

    route_group: str | None = None  # set for the per-group instances of a per_route_group SLO

    @property
    def id(self) -> str:
        return f"{self.name}-{self.route_group}" if self.route_group else self.name

    @property
    def labels(self) -> dict[str, str]:
        """The labels that tell this SLO's recorded series (and so its alerts) apart."""
        return {"slo": self.name} | ({"route_group": self.route_group} if self.route_group else {})

    @property
    def bucket_le(self) -> str:
        """The `le` of the histogram bucket that counts good events of a latency SLO."""
        return _le(self.threshold_seconds)

    def recorded_error_ratio(self, window: str) -> str:
        """PromQL selecting the recorded `error_ratio(window)` of this SLO (see alerts/slo_rules.py)."""
        matchers = ",".join(f'{k}="{v}"' for k, v in self.labels.items())
        return f"{sli_record(window)}{{{matchers}}}"

    def route_selector(self) -> str:
        prefix = f"/api/v1/{self.route_group}" if self.route_group else "/api/v1/"
        return f'route=~"{prefix}.*"'

    def error_ratio(self, window: str) -> str:
        """PromQL for the fraction of bad events over `window` (e.g. "5m"): the SLI's complement.

        Counters of bad events that never happened do not exist, so those count as none (`or vector(0)`):
        a service that has never failed is at 0, not without data; with no events at all, it still has none.
        """
        if self.kind == "availability":
            sel = self.route_selector()
            bad = f'sum(rate(http_requests_total{{{sel},status=~"5.."}}[{window}])) or vector(0)'
            total = f"sum(rate(http_requests_total{{{sel}}}[{window}]))"
        elif self.kind == "latency":
            sel = self.route_selector()
            bucket = f'{sel},le="{self.bucket_le}"'
            good = f"sum(rate(http_request_duration_seconds_bucket{{{bucket}}}[{window}]))"
            total = f"sum(rate(http_request_duration_seconds_count{{{sel}}}[{window}]))"
            bad = f"({total} - {good})"
        elif self.kind == "success":
            bad = f'sum(rate(tron_payouts_processed_total{{status="failed"}}[{window}])) or vector(0)'
            total = f'sum(rate(tron_payouts_processed_total{{status=~"completed|failed"}}[{window}]))'
        else:
            raise ValueError(f"SLO {self.name}: unknown kind {self.kind!r}")
        return f"({bad}) / ({total})"


def _le(seconds: float | None) -> str:
    """A histogram bucket bound as the client library writes it (2 -> "2.0")."""
    if seconds is None:
        raise ValueError("a latency SLO needs threshold_seconds")
    return repr(float(seconds))


@dataclass(frozen=True)
class BurnWindows:
    """One multi-window condition: the error ratio over both windows exceeds burn_rate times the budget."""

    long: str
    short: str
    burn_rate: float


@dataclass(frozen=True)
class BurnRateAlert:
    """One alert per SLO: any of its window pairs burning (the SRE workbook's multiwindow alerts)."""

    suffix: str  # the alert is named after the SLO plus this, e.g. ApiAvailabilityFastBurn
    severity: str
    hold: str  # the rule's `for`
    windows: tuple[BurnWindows, ...]


@dataclass(frozen=True)
class SloFile:
    window: str
    route_groups: dict[str, RouteGroup]
    slos: list[Slo]
    burn_rate_alerts: tuple[BurnRateAlert, ...] = ()

    @property
    def windows(self) -> list[str]:
        """Every window the burn-rate alerts read, shortest first."""
        used = {
            w for alert in self.burn_rate_alerts for pair in alert.windows for w in (pair.long, pair.short)
        }
        return sorted(used, key=parse_duration)

    def by_name(self) -> dict[str, list[Slo]]:
        """The SLOs grouped by name: a per-route-group SLO is one name with one Slo per group."""
        grouped: dict[str, list[Slo]] = {}
        for slo in self.slos:
            grouped.setdefault(slo.name, []).append(slo)
        return grouped


def _slo(spec: SloSpec, route_group: str | None) -> Slo:
    return Slo(**dataclasses.asdict(spec), route_group=route_group)


def load(objectives: Objectives | None = None) -> SloFile:
    """The SLOs as harness/objectives.py reads them, one Slo per route group where an SLO is per group."""
    facts = objectives or current()
    slos: list[Slo] = []
    for spec in facts.slos:
        groups: list[str | None] = list(facts.route_groups) if spec.per_route_group else [None]
        slos.extend(_slo(spec, group) for group in groups)
    alerts = tuple(
        BurnRateAlert(
            suffix=suffix,
            severity=entry["severity"],
            hold=entry["for"],
            windows=tuple(
                BurnWindows(str(w["long"]), str(w["short"]), float(w["burn_rate"])) for w in entry["windows"]
            ),
        )
        for suffix, entry in facts.burn_rate_alerts.items()
    )
    return SloFile(
        window=facts.slo_window, route_groups=dict(facts.route_groups), slos=slos, burn_rate_alerts=alerts
    )
