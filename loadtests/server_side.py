"""The run seen from the server: the service's own metrics in Prometheus over the run's window.

- per route group, p95 and error ratio from `http_request_duration_seconds` and `http_requests_total`
  (the contract's metrics), side by side with the client's; a disagreement beyond the objectives'
  tolerance is reported with what it means (time or errors outside the service: mesh, network, or
  the generator itself);
- per pod, resident memory over the run (`process_resident_memory_bytes`, exported by the service's
  prometheus-client): a soak fails a pod whose memory grows beyond the stated bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from harness import objectives
from harness.clients.http import ControlError
from harness.clients.prometheus import Prometheus
from harness.summary import verdict
from loadtests.stats import rss_verdict

SCRAPE_SETTLE_INTERVALS = 2  # after the run, wait this many scrape intervals so its last requests are in
MEMORY_WARMUP_SHARE = 0.2  # the first fifth of a soak fills caches and pools; growth is judged after it


@dataclass(frozen=True)
class ServerFigures:
    group: str
    p95_ms: float | None
    error_ratio: float | None


def _selector(group: str) -> str:
    facts = objectives.current()
    prefix = f"{facts.identity.base_path.rstrip('/')}/{group}"
    return f'job="{facts.identity.app}", route=~"{prefix}(/.*)?"'


def _scalar(prometheus: Prometheus, expr: str) -> float | None:
    series = prometheus.query(expr)
    if not series:
        return None
    figure = float(series[0]["value"][1])
    return None if math.isnan(figure) or math.isinf(figure) else figure


def settle(prometheus: Prometheus) -> None:
    """Wait until Prometheus has scraped the run's last requests (two of its scrape intervals)."""
    interval = str(prometheus.config().get("global", {}).get("scrape_interval", "15s"))
    from alerts.durations import parse_duration

    time.sleep(SCRAPE_SETTLE_INTERVALS * parse_duration(interval))


def figures(prometheus: Prometheus, groups: list[str], window_s: float) -> dict[str, ServerFigures]:
    """Each group's server-side p95 (ms) and 5xx ratio over the last `window_s` seconds."""
    window = f"{max(1, math.ceil(window_s))}s"
    out = {}
    for group in groups:
        selector = _selector(group)
        p95 = _scalar(
            prometheus,
            f"histogram_quantile(0.95, sum by (le) "
            f"(increase(http_request_duration_seconds_bucket{{{selector}}}[{window}])))",
        )
        errors = _scalar(
            prometheus,
            f'sum(increase(http_requests_total{{{selector}, status=~"5.."}}[{window}])) or vector(0)',
        )
        total = _scalar(prometheus, f"sum(increase(http_requests_total{{{selector}}}[{window}]))")
        ratio = (errors or 0.0) / total if total else None
        out[group] = ServerFigures(group, None if p95 is None else p95 * 1000, ratio)
    return out


def disagreements(
    client: dict[str, tuple[float | None, float | None]], server: dict[str, ServerFigures]
) -> list[str]:
    """One line per group whose client and server figures differ beyond the stated tolerance.
    `client` is group -> (p95 ms of successful requests, error ratio)."""
    tolerances = objectives.current().load_gates
    lines = []
    for group, (client_p95, client_errors) in sorted(client.items()):
        theirs = server.get(group)
        if theirs is None:
            continue
        if client_p95 is not None and theirs.p95_ms is not None:
            allowed = theirs.p95_ms * tolerances.crosscheck_latency_ratio + tolerances.crosscheck_latency_ms
            if abs(client_p95 - theirs.p95_ms) > allowed:
                where = (
                    "outside the service (mesh, network, or a saturated generator)"
                    if client_p95 > theirs.p95_ms
                    else "in the service for requests the client did not time (failed ones count there)"
                )
                lines.append(
                    f"{group}: client p95 {client_p95:.0f} ms, server p95 {theirs.p95_ms:.0f} ms "
                    f"(tolerance ±{allowed:.0f} ms): the difference is spent {where}"
                )
        if (
            client_errors is not None
            and theirs.error_ratio is not None
            and abs(client_errors - theirs.error_ratio) > tolerances.crosscheck_error_ratio
        ):
            source = (
                "errors the service never answered: the mesh, network or timeouts made them"
                if client_errors > theirs.error_ratio
                else "5xx the service counted that the client did not see (the mesh retried them)"
            )
            lines.append(
                f"{group}: client error ratio {client_errors:.2%}, server {theirs.error_ratio:.2%}: {source}"
            )
    return lines


def memory_gates(prometheus: Prometheus, window_s: float, job: str | None = None) -> list[dict[str, Any]]:
    """Per pod of `job` (the service's), resident memory growth over the run (the soak's leak gate), as
    verdicts named for the pod."""
    facts = objectives.current()
    bound = facts.load_gates.soak_memory_growth_ratio
    window = f"{max(1, math.ceil(window_s))}s"
    selector = f'process_resident_memory_bytes{{job="{job or facts.identity.app}"}}'
    series = prometheus.query(f"{selector}[{window}]")
    if not series:  # never a silent pass: a soak without memory figures cannot say there is no leak
        return [
            {"group": "pods"} | verdict(f"memory growth (no {selector} series)", None, "<=", bound, "ratio")
        ]
    verdicts = []
    for entry in series:
        pod = entry["metric"].get("pod") or entry["metric"].get("instance", "?")
        values = entry.get("values") or []
        if not values:
            continue
        start = float(values[0][0])
        samples = [(float(at) - start, int(float(rss))) for at, rss in values]
        judged = rss_verdict(samples, MEMORY_WARMUP_SHARE * window_s, 2**62, bound)
        verdicts.append(
            {"group": f"pod {pod}"} | verdict("memory growth", judged.growth, "<=", bound, "ratio")
        )
    return verdicts


def safely(what: str, call: Any, *args: Any) -> tuple[Any, str | None]:
    """(result, None), or (None, the reason) when Prometheus could not answer: reported, never fatal."""
    try:
        return call(*args), None
    except ControlError as error:
        return None, f"{what}: {error}"
