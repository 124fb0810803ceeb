"""Prometheus and Alertmanager configuration, from one place for the local stack and docker-compose.

The same jobs, labels and intervals either way; only how targets are found differs (the local pod
supervisor's HTTP service discovery, or compose's DNS names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NAMESPACE = "lucid-payment"
APP = "tron-payment-service"


@dataclass(frozen=True)
class Intervals:
    scrape: str = "15s"
    evaluation: str = "15s"
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"


PRODUCTION = Intervals()
# Locally, alerts must fire within a test's time: everything is quicker, and said so.
LOCAL = Intervals(scrape="2s", evaluation="2s", group_wait="1s", group_interval="5s", repeat_interval="1m")


def prometheus_config(
    *,
    pods: dict[str, Any],
    mesh: str,
    devnet: str,
    alertmanager: str,
    rule_files: list[str],
    intervals: Intervals,
    self_target: str,
) -> dict[str, Any]:
    """`pods` is a Prometheus service-discovery block (http_sd_configs or dns_sd_configs)."""

    def job(name: str, targets: str, **labels: str) -> dict[str, Any]:
        return {"job_name": name, "static_configs": [{"targets": [targets], "labels": labels}]}

    return {
        "global": {
            "scrape_interval": intervals.scrape,
            "evaluation_interval": intervals.evaluation,
            "external_labels": {"cluster": "tron-payment", "namespace": NAMESPACE},
        },
        "rule_files": rule_files,
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": APP,
                "metrics_path": "/metrics",
                **pods,
                "relabel_configs": [
                    {"target_label": "namespace", "replacement": NAMESPACE},
                    {"target_label": "app", "replacement": APP},
                ],
            },
            job("istio-mesh", mesh, namespace=NAMESPACE),
            job("tron-devnet", devnet, namespace=NAMESPACE),
            job("alertmanager", alertmanager),
            job("prometheus", self_target),
        ],
    }


def alertmanager_config(webhook_url: str, intervals: Intervals) -> dict[str, Any]:
    return {
        "route": {
            "receiver": "harness",
            "group_by": ["alertname", "severity"],
            "group_wait": intervals.group_wait,
            "group_interval": intervals.group_interval,
            "repeat_interval": intervals.repeat_interval,
        },
        "receivers": [{"name": "harness", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    }
