"""The one loader for the service's objectives and identity, like a monitoring mixin's config.

Two files, read together: alerts/slos.yaml (the SLOs and their burn-rate alerts) and
harness/objectives.yaml (identity, route groups with their timeouts and rate limits, resource
thresholds, DR targets, load gates, alert detection slack, benchmark targets). Alert rules,
dashboards, load tests, the stack and the harness's checks read every figure through `load()`.
A missing or mistyped entry is an `ObjectivesError` naming the file and the key to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from alerts.durations import parse_duration

REPO = Path(__file__).resolve().parent.parent
OBJECTIVES_FILE = Path(__file__).with_name("objectives.yaml")
SLO_FILE = REPO / "alerts" / "slos.yaml"
OTHER_GROUP = "other"  # a path outside every route group


class ObjectivesError(ValueError):
    """An objectives file that cannot be read as written; the message names the file and the key."""


@dataclass(frozen=True)
class Identity:
    app: str
    namespace: str
    selector: dict[str, str]
    port: int
    base_path: str

    @property
    def label_selector(self) -> str:
        """As kubectl and the Kubernetes API take it: "app=tron-payment-service"."""
        return ",".join(f"{key}={value}" for key, value in self.selector.items())


@dataclass(frozen=True)
class RouteGroup:
    name: str
    timeout_seconds: float
    rate_limit_per_minute: int


@dataclass(frozen=True)
class SloSpec:
    """One SLO as written; alerts/slos.py turns it into PromQL."""

    name: str
    description: str
    objective: float
    kind: str  # availability | latency | success
    metric: str
    threshold_seconds: float | None = None
    per_route_group: bool = False

    @property
    def error_budget(self) -> float:
        return round(1 - self.objective, 10)


@dataclass(frozen=True)
class DisasterRecovery:
    rto_seconds: dict[str, float]  # tier (critical, standard) -> recovery time objective
    rpo_seconds: dict[str, float]  # data (database, configuration, logs) -> recovery point objective


@dataclass(frozen=True)
class LoadGates:
    min_requests: int
    error_ratio_tolerance: float
    latency_tolerance_seconds: float
    p99_ceiling_seconds: float
    rate_headroom: float
    throughput_floor_share: float
    regression_latency_ratio: float
    regression_latency_ms: float
    regression_error_ratio: float
    abort_grace_seconds: float
    crosscheck_latency_ratio: float
    crosscheck_latency_ms: float
    crosscheck_error_ratio: float
    soak_memory_growth_ratio: float
    generator_cpu_saturation: float
    missed_pace_ratio: float
    host_steal_warning: float


@dataclass(frozen=True)
class Gate:
    """One pass/fail bound a load run is judged by (see harness.summary.verdict)."""

    name: str
    comparison: str
    threshold: float
    unit: str


@dataclass(frozen=True)
class AlertDetection:
    slack_seconds: float
    notify_slack_seconds: float


@dataclass(frozen=True)
class Benchmarks:
    mesh_throughput_share: float
    mesh_added_p50_ms: float
    read_path_share: float


@dataclass(frozen=True)
class Objectives:
    identity: Identity
    route_groups: dict[str, RouteGroup]
    other_rate_limit_per_minute: int
    retry_attempts: int
    resource_limit_ratio: float
    min_replicas: int
    min_available: int
    disaster_recovery: DisasterRecovery
    load_gates: LoadGates
    alert_detection: AlertDetection
    benchmarks: Benchmarks
    slo_window: str
    slos: tuple[SloSpec, ...]
    burn_rate_alerts: dict[str, Any]  # as written; alerts/slos.py reads them

    def route_group(self, path: str) -> str:
        """The group a request path belongs to ("/api/v1/usdt/balance/T..." -> "usdt"), else "other"."""
        prefix = self.identity.base_path.strip("/").split("/")
        parts = path.split("?")[0].strip("/").split("/")
        if (
            parts[: len(prefix)] == prefix
            and len(parts) > len(prefix)
            and parts[len(prefix)] in self.route_groups
        ):
            return parts[len(prefix)]
        return OTHER_GROUP

    def rate_limit(self, group: str) -> int:
        """Requests a minute one user may send to `group`."""
        if group == OTHER_GROUP:
            return self.other_rate_limit_per_minute
        return self.route_groups[group].rate_limit_per_minute

    def gates(self) -> tuple[Gate, ...]:
        """The load tests' gates: the SLOs themselves, widened by the stated tolerances."""
        availability, latency = self.slo("availability"), self.slo("latency")
        tolerances = self.load_gates
        return (
            Gate("error ratio", "<=", availability.error_budget + tolerances.error_ratio_tolerance, "ratio"),
            Gate(
                "p95 latency",
                "<=",
                float(latency.threshold_seconds or 0) + tolerances.latency_tolerance_seconds,
                "s",
            ),
        )

    def slo(self, kind: str) -> SloSpec:
        """The one SLO of `kind`; ObjectivesError if there is none."""
        for spec in self.slos:
            if spec.kind == kind:
                return spec
        raise ObjectivesError(f"{SLO_FILE}: no SLO of kind {kind!r}; kinds: {[s.kind for s in self.slos]}")


class _Reader:
    """Typed access to one YAML file, every error naming the file and the key path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise ObjectivesError(f"{path}: cannot read: {error}") from None
        if not isinstance(self.raw, dict):
            raise ObjectivesError(f"{path}: must be a mapping of keys to values")

    def get(self, key: str, kind: type | tuple[type, ...], where: Mapping[str, Any] | None = None) -> Any:
        scope = self.raw if where is None else where
        if key not in scope:
            raise ObjectivesError(f"{self.path}: missing {key!r}")
        value = scope[key]
        # bool is an int to Python; a number written `true` is a mistake, not a 1.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _types(kind)):
            raise ObjectivesError(f"{self.path}: {key!r} is {value!r}, must be {_names(kind)}")
        return value

    def mapping(self, key: str, where: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return dict(self.get(key, dict, where))

    def number(self, key: str, where: Mapping[str, Any] | None = None) -> float:
        return float(self.get(key, (int, float), where))

    def duration(self, key: str, where: Mapping[str, Any]) -> float:
        text = str(self.get(key, (str, int), where))
        try:
            return parse_duration(text)
        except ValueError:
            raise ObjectivesError(
                f"{self.path}: {key!r} is {text!r}, must be a duration like 5m or 1h"
            ) from None


def _types(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    return " or ".join({"dict": "a mapping", "str": "text", "int": "a number", "float": "a number"}.get(
        t.__name__, t.__name__) for t in _types(kind))  # fmt: skip


def _slos(reader: _Reader) -> tuple[SloSpec, ...]:
    specs = []
    for entry in reader.get("slos", list):
        if not isinstance(entry, dict):
            raise ObjectivesError(f"{reader.path}: every entry of 'slos' must be a mapping")
        kind = reader.get("kind", str, entry)
        if kind not in ("availability", "latency", "success"):
            raise ObjectivesError(
                f"{reader.path}: SLO kind {kind!r} must be availability, latency or success"
            )
        objective = reader.number("objective", entry)
        if not 0 < objective < 1:
            raise ObjectivesError(
                f"{reader.path}: objective {objective} of {entry.get('name')} must be in (0, 1)"
            )
        threshold = entry.get("threshold_seconds")
        if kind == "latency" and not isinstance(threshold, int | float):
            raise ObjectivesError(f"{reader.path}: latency SLO {entry.get('name')} needs threshold_seconds")
        specs.append(
            SloSpec(
                name=reader.get("name", str, entry),
                description=reader.get("description", str, entry),
                objective=objective,
                kind=kind,
                metric=reader.get("metric", str, entry),
                threshold_seconds=threshold,  # as written: 2 stays 2 in the dashboard
                per_route_group=bool(entry.get("per_route_group", False)),
            )
        )
    return tuple(specs)


def load(objectives_file: Path = OBJECTIVES_FILE, slo_file: Path = SLO_FILE) -> Objectives:
    """Both files, checked and typed; ObjectivesError names the file and the key to fix."""
    facts, slos = _Reader(objectives_file), _Reader(slo_file)
    identity = facts.mapping("identity")
    groups = {
        name: RouteGroup(
            name,
            facts.number("timeout_seconds", facts.get(name, dict, facts.mapping("route_groups"))),
            int(facts.number("rate_limit_per_minute", facts.mapping("route_groups")[name])),
        )
        for name in facts.mapping("route_groups")
    }
    if not groups:
        raise ObjectivesError(f"{objectives_file}: 'route_groups' names no group")
    resources, availability = facts.mapping("resources"), facts.mapping("availability")
    dr, gates, detection, bench = (
        facts.mapping(key) for key in ("disaster_recovery", "load_gates", "alert_detection", "benchmarks")
    )
    rto, rpo = facts.mapping("rto", dr), facts.mapping("rpo", dr)
    return Objectives(
        identity=Identity(
            app=facts.get("app", str, identity),
            namespace=facts.get("namespace", str, identity),
            selector={str(k): str(v) for k, v in facts.mapping("selector", identity).items()},
            port=int(facts.number("port", identity)),
            base_path=facts.get("base_path", str, identity),
        ),
        route_groups=groups,
        other_rate_limit_per_minute=int(facts.number("other_rate_limit_per_minute")),
        retry_attempts=int(facts.number("retry_attempts")),
        resource_limit_ratio=facts.number("limit_ratio", resources),
        min_replicas=int(facts.number("min_replicas", availability)),
        min_available=int(facts.number("min_available", availability)),
        disaster_recovery=DisasterRecovery(
            rto_seconds={tier: facts.duration(tier, rto) for tier in rto},
            rpo_seconds={data: facts.duration(data, rpo) for data in rpo},
        ),
        load_gates=LoadGates(
            min_requests=int(facts.number("min_requests", gates)),
            **{
                name: facts.number(name, gates)
                for name in LoadGates.__dataclass_fields__
                if name != "min_requests"
            },
        ),
        alert_detection=AlertDetection(
            slack_seconds=facts.number("slack_seconds", detection),
            notify_slack_seconds=facts.number("notify_slack_seconds", detection),
        ),
        benchmarks=Benchmarks(
            mesh_throughput_share=facts.number("mesh_throughput_share", bench),
            mesh_added_p50_ms=facts.number("mesh_added_p50_ms", bench),
            read_path_share=facts.number("read_path_share", bench),
        ),
        slo_window=str(slos.get("window", str)),
        slos=_slos(slos),
        burn_rate_alerts=slos.mapping("burn_rate_alerts"),
    )


@cache
def current() -> Objectives:
    """The project's objectives, read once per process."""
    return load()
