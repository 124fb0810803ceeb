"""The alert receiver (stack/alertsink): every notification Alertmanager delivered, as recorded."""

from __future__ import annotations

from typing import Any

from harness.clients.http import JsonClient


class AlertSink(JsonClient):
    surface = "alert sink"

    def alerts(
        self, alertname: str | None = None, status: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        """Recorded alerts (alertname, status, received_at, ...), filtered as asked."""
        params = {
            k: v
            for k, v in {"alertname": alertname, "status": status, "since": since}.items()
            if v is not None
        }
        return list(self.call("GET", "/alerts", params=params))

    def first_received(self, status: str, since: float) -> dict[str, float]:
        """Alert name -> when it was first received with `status` since `since` (unix seconds)."""
        received: dict[str, float] = {}
        for record in self.alerts(status=status, since=since):
            received.setdefault(record["alertname"], record["received_at"])
        return received
