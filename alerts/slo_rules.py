"""From the SLO file to rules: the SLI recorded at every window, and the burn-rate alerts on them."""

from __future__ import annotations

from typing import Any

from alerts.slos import BurnRateAlert, Slo, SloFile, sli_record


def alert_name(slo_name: str, alert: BurnRateAlert) -> str:
    """The SLO's name in CamelCase plus the suffix: api-availability, FastBurn -> ApiAvailabilityFastBurn."""
    return "".join(part.capitalize() for part in slo_name.split("-")) + alert.suffix


def group_name(slo_name: str) -> str:
    return f"slo-{slo_name}"


def percent(fraction: float) -> str:
    return f"{fraction * 100:.4g}%"


def burn_rate_expr(slo: Slo, alert: BurnRateAlert) -> str:
    """Any window pair over its threshold; the value is the error ratio over the long window."""
    selector = f'{{slo="{slo.name}"}}'  # every route group of the SLO at once, told apart by label
    pairs = [
        "\n".join(
            (
                "(",
                f"  {sli_record(pair.long)}{selector} > ({pair.burn_rate:g} * {slo.error_budget:g})",
                "  and",
                f"  {sli_record(pair.short)}{selector} > ({pair.burn_rate:g} * {slo.error_budget:g})",
                ")",
            )
        )
        for pair in alert.windows
    ]
    return "\nor\n".join(pairs)


def _annotations(slo: Slo, alert: BurnRateAlert, slo_file: SloFile) -> dict[str, str]:
    where = " ({{ $labels.route_group }})" if slo.route_group else ""
    speed = "fast" if alert.severity == "page" else "slowly"
    slowest = min(pair.burn_rate for pair in alert.windows)
    return {
        "summary": f"SLO {slo.name}{where}: error budget burning {speed}",
        "description": (
            f"{{{{ $value | humanizePercentage }}}} of events are bad, at least {slowest:g}x the rate that "
            f"spends the whole {slo_file.window} error budget ({percent(slo.error_budget)}; objective "
            f"{percent(slo.objective)}). The SLI: {slo.description}"
        ),
    }


def slo_group(instances: list[Slo], slo_file: SloFile) -> dict[str, Any]:
    """One group per SLO: records first, so that its alerts read this evaluation's values."""
    first = instances[0]
    if len({slo.objective for slo in instances}) != 1:
        raise ValueError(f"SLO {first.name}: every route group must share one objective")
    records = [
        {"record": sli_record(window), "expr": slo.error_ratio(window), "labels": slo.labels}
        for slo in instances
        for window in slo_file.windows
    ]
    alerts = [
        {
            "alert": alert_name(first.name, alert),
            "expr": burn_rate_expr(first, alert),
            "for": alert.hold,
            "labels": {"severity": alert.severity},
            "annotations": _annotations(first, alert, slo_file),
        }
        for alert in slo_file.burn_rate_alerts
    ]
    return {"name": group_name(first.name), "rules": records + alerts}
