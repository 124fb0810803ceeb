"""The Grafana provisioning docker-compose mounts: the datasource the dashboard expects, and its folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dashboards.variables import DATASOURCE_VARIABLE, DEFAULT_DATASOURCE_UID

PROVISIONING = Path(__file__).resolve().parents[2] / "dashboards" / "provisioning"


def test_datasource_is_the_variables_default(dashboard: dict[str, Any]) -> None:
    (datasource,) = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())[
        "datasources"
    ]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["uid"] == DEFAULT_DATASOURCE_UID
    (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == DATASOURCE_VARIABLE]
    assert variable["current"]["value"] == datasource["uid"]


def test_dashboards_are_read_from_the_mounted_directory() -> None:
    (provider,) = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yaml").read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
