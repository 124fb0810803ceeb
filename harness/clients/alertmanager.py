"""Alertmanager's v2 API: its configuration and the alerts it holds."""

from __future__ import annotations

from typing import Any

import yaml

from harness.clients.http import JsonClient


class Alertmanager(JsonClient):
    surface = "alertmanager"

    def config(self) -> dict[str, Any]:
        """The configuration it runs, as loaded."""
        return dict(yaml.safe_load(self.call("GET", "/api/v2/status")["config"]["original"]))

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/api/v2/alerts"))
