"""The dashboard's template variables: the Prometheus datasource every panel queries, and which job and
pods to show. The job is a variable because staging may scrape the same contract under another job name."""

from __future__ import annotations

from typing import Any

from grafanalib import core as G

from stack.monitoring import APP

DATASOURCE_VARIABLE = "datasource"
# The uid docker-compose provisions (provisioning/datasources/prometheus.yaml), so the dashboard opens
# on it without anyone choosing.
DEFAULT_DATASOURCE_UID = "prometheus"
DATASOURCE: dict[str, Any] = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
ALL_VALUE = ".+"  # "All" as one short regex rather than Grafana's alternation of every value

# How the contract's metrics are narrowed to the chosen job and pods; every service panel uses it.
SERVICE_FILTER = 'job=~"$job", instance=~"$instance"'


def _label_variable(name: str, query: str, default: str) -> G.Template:
    return G.Template(
        name=name,
        label=name.title(),
        query=query,
        dataSource=DATASOURCE,
        default=default,
        multi=True,
        includeAll=True,
        allValue=ALL_VALUE,
        refresh=G.REFRESH_ON_TIME_RANGE_CHANGE,  # pods come and go; reload them with the time range
    )


def templating() -> G.Templating:
    return G.Templating(
        list=[
            G.Template(
                name=DATASOURCE_VARIABLE,
                label="Data source",
                type="datasource",
                query="prometheus",
                default=DEFAULT_DATASOURCE_UID,
            ),
            _label_variable("job", "label_values(http_requests_total, job)", default=APP),
            _label_variable("instance", 'label_values(http_requests_total{job=~"$job"}, instance)', "$__all"),
        ]
    )
