"""Prometheus through prometheus-api-client, plus the few reads the harness makes of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from harness.clients.http import ControlError, JsonClient


class Prometheus:
    surface = "prometheus"

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.api = PrometheusConnect(url=self.url, disable_ssl=True)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's series ({"metric", "value"}); ControlError when Prometheus refuses it."""
        try:
            return list(self.api.custom_query(expr))
        except (PrometheusApiClientException, OSError) as error:
            raise ControlError(self.surface, f"{expr}: {error}") from error

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[dict[str, Any]]:
        """A range query's series ({"metric", "values": [[unix, "value"], ...]}); ControlError if refused."""
        try:
            return list(
                self.api.custom_query_range(
                    expr, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), f"{step_s:g}s"
                )
            )
        except (PrometheusApiClientException, OSError) as error:
            raise ControlError(self.surface, f"{expr}: {error}") from error

    def alert_states(self) -> set[tuple[str, str]]:
        """(alert name, pending|firing) of every active alert."""
        return {(s["metric"]["alertname"], s["metric"]["alertstate"]) for s in self.query("ALERTS")}

    def config(self) -> dict[str, Any]:
        """The configuration it runs, as loaded."""
        # prometheus-api-client has no call for the status API: read it directly.
        with JsonClient(self.url, timeout=10.0) as status:
            return dict(yaml.safe_load(status.call("GET", "/api/v1/status/config")["data"]["yaml"]))
