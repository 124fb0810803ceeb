"""The on-call dashboard for the TRON payment service. The on-call doc refers to its panels by title."""

from __future__ import annotations

from grafanalib import core as G
from grafanalib import formatunits as UNITS

from alerts.slos import SloFile
from dashboards import slo_panels
from dashboards.layout import Row, lay_out
from dashboards.panels import Query, stat, state_timeline, timeseries
from dashboards.queries import aggregate, increase, p95, ratio, selector, sum_by, sum_rate
from dashboards.variables import SERVICE_FILTER, templating
from harness import objectives
from stack.monitoring import APP

UID = "tron-payment-oncall"
API_ROUTES = 'route=~"/api/v1/.*"'
CONTAINER = f'container="{APP}"'  # the Deployment's container, as cAdvisor and kube-state-metrics name it
POD = ("namespace", "pod")
# Usage past this share of the limit is alerted on (alerts/service_alerts.yaml, memory and CPU).
RESOURCE_ALERT_RATIO = objectives.current().resource_limit_ratio
RESOURCE_STEPS = ((None, "green"), (RESOURCE_ALERT_RATIO, "red"))


def _overview(slo_file: SloFile) -> Row:
    requests = "http_requests_total"
    all_api = sum_rate(requests, SERVICE_FILTER, API_ROUTES)

    def share(status_class: str) -> str:
        # No such answer yet means none: 0 %, not "No data" (the series appears with the first one).
        part = sum_rate(requests, SERVICE_FILTER, API_ROUTES, f'status=~"{status_class}"')
        return ratio(f"{part} or vector(0)", all_api)

    return Row(
        "Overview",
        [
            timeseries(
                "Request rate",
                "Requests per second to /api/v1, by status code.",
                UNITS.REQUESTS_PER_SEC,
                [Query(sum_rate(requests, SERVICE_FILTER, API_ROUTES, by=("status",)), "{{status}}")],
            ),
            timeseries(
                "Error ratio (5xx)",
                "Share of /api/v1 requests answered with a server error; the line is the availability "
                "SLO's error budget. 4xx (client errors, including 429) are shown for context.",
                UNITS.PERCENT_UNIT,
                [Query(share("5.."), "5xx"), Query(share("4.."), "4xx")],
                thresholds=slo_panels.availability_budget_steps(slo_file),
            ),
            slo_panels.latency_by_route_group(slo_file),
            timeseries(
                "Rate-limited requests",
                "Requests refused with 429 per second, by rate-limit group.",
                UNITS.REQUESTS_PER_SEC,
                [
                    Query(
                        sum_rate("tron_payment_rate_limit_exceeded_total", SERVICE_FILTER, by=("group",)),
                        "{{group}}",
                    )
                ],
            ),
        ],
    )


def _share_of_limit(usage: str, resource: str, unit: str) -> str:
    """Per pod, as the alerts compute it; `max` because a container is sometimes exported twice."""
    limits = selector(
        "kube_pod_container_resource_limits", CONTAINER, f'resource="{resource}"', f'unit="{unit}"'
    )
    return ratio(usage, aggregate("max", POD, limits))


def _pods() -> Row:
    return Row(
        "Pods",
        [
            timeseries(
                "Pods ready",
                "Pods Kubernetes counts as ready, and targets Prometheus scrapes successfully "
                "(the only series on the local stack, which has no kube-state-metrics).",
                UNITS.SHORT,
                [
                    Query(
                        sum_by((), selector("kube_pod_status_ready", 'condition="true"', f'pod=~"{APP}-.*"')),
                        "ready (Kubernetes)",
                    ),
                    Query(sum_by((), selector("up", 'job=~"$job"')), "scraped (Prometheus up)"),
                ],
            ),
            timeseries(
                "Pod restarts",
                "Container restarts per pod in each interval.",
                UNITS.SHORT,
                [
                    Query(
                        sum_by(POD, increase("kube_pod_container_status_restarts_total", CONTAINER)),
                        "{{pod}}",
                    )
                ],
            ),
            timeseries(
                "Memory vs limit",
                "Working set (what the OOM killer judges) as a share of the memory limit, per pod.",
                UNITS.PERCENT_UNIT,
                [
                    Query(
                        _share_of_limit(
                            aggregate("max", POD, selector("container_memory_working_set_bytes", CONTAINER)),
                            "memory",
                            "byte",
                        ),
                        "{{pod}}",
                    )
                ],
                thresholds=RESOURCE_STEPS,
            ),
            timeseries(
                "CPU vs limit",
                "CPU used as a share of the CPU limit, per pod.",
                UNITS.PERCENT_UNIT,
                [
                    Query(
                        _share_of_limit(
                            sum_rate("container_cpu_usage_seconds_total", CONTAINER, by=POD), "cpu", "core"
                        ),
                        "{{pod}}",
                    )
                ],
                thresholds=RESOURCE_STEPS,
            ),
        ],
    )


def _mesh() -> Row:
    return Row(
        "Mesh",
        [
            timeseries(
                "Mesh responses by flag",
                "Responses through the mesh per second by Envoy response flag: '-' is a normal response; "
                "UO overflow, URX retries exhausted, UH no healthy upstream, UT timeout, FI/DI injected "
                "faults.",
                UNITS.REQUESTS_PER_SEC,
                [
                    Query(
                        sum_rate(
                            "istio_requests_total",
                            f'destination_service_name="{APP}"',
                            by=("response_flags",),
                        ),
                        "{{response_flags}}",
                    )
                ],
                stacked=True,
            ),
            timeseries(
                "Mesh ejected endpoints",
                "Endpoints outlier detection has ejected from load balancing.",
                UNITS.SHORT,
                [Query(sum_by(("endpoint",), "tron_mesh_endpoint_ejected"), "{{endpoint}}")],
                stacked=True,
            ),
        ],
    )


def _faults_in_force() -> Row:
    """What a game day (tronops chaos, tronops gameday) has broken on purpose, and when: the mesh's and
    the devnet's own gauges of the faults in force, so a graph that moved has its reason beside it."""
    return Row(
        "Faults in force",
        [
            state_timeline(
                "Injected faults",
                "Faults injected on purpose, while in force: Istio faults on the mesh's routes (the number "
                "of routes with an abort or a delay) and the TRON node's (devnet) faults. Red is a fault in "
                "force: what else moved then is what the game day broke.",
                UNITS.SHORT,
                [
                    Query(sum_by(("kind",), "tron_mesh_faults_active"), "mesh {{kind}}"),
                    Query(aggregate("max", ("fault",), "tron_devnet_faults_active"), "TRON node {{fault}}"),
                ],
                ((0, 0, "none", "transparent"), (1, 1_000_000, "in force", "red")),
            )
        ],
    )


def _payout_pipeline() -> Row:
    return Row(
        "Payout pipeline",
        [
            timeseries(
                "Payout queue depth",
                "Payouts waiting for the worker, by priority.",
                UNITS.SHORT,
                # Every replica reports the same shared queue, so the pods' values are not added up.
                [
                    Query(
                        aggregate("max", ("priority",), selector("tron_payout_queue_depth", SERVICE_FILTER)),
                        "{{priority}}",
                    )
                ],
                stacked=True,
            ),
            timeseries(
                "Payouts processed",
                "Payouts reaching a final state per second, by currency and status.",
                UNITS.OPS_PER_SEC,
                [
                    Query(
                        sum_rate("tron_payouts_processed_total", SERVICE_FILTER, by=("currency", "status")),
                        "{{currency}} {{status}}",
                    )
                ],
            ),
            timeseries(
                "USDT transfers",
                "TRC20 USDT transfers per second, by status.",
                UNITS.OPS_PER_SEC,
                [Query(sum_rate("tron_usdt_transfers_total", SERVICE_FILTER, by=("status",)), "{{status}}")],
            ),
            stat(
                "Payouts frozen",
                "The payout kill switch (PUT /api/v1/admin/payouts/freeze): while on, nothing is signed or "
                "sent and requests queue. Every replica reports the same shared switch.",
                UNITS.NO_FORMAT,
                [Query(aggregate("max", (), selector("tron_payouts_frozen", SERVICE_FILTER)))],
                thresholds=((None, "green"), (1, "red")),
                mappings=[
                    G.StatValueMappingItem("Running", "0", "green"),
                    G.StatValueMappingItem("Frozen", "1", "red"),
                ],
            ),
            timeseries(
                "Operations blocked on fees",
                "Operations not yet sent whose source wallet lacks the TRX they need, by currency "
                "(the same store seen by every replica, so the largest report).",
                UNITS.SHORT,
                [
                    Query(
                        aggregate(
                            "max", ("currency",), selector("tron_operations_blocked_on_fees", SERVICE_FILTER)
                        ),
                        "{{currency}}",
                    )
                ],
            ),
        ],
    )


def _tron_network() -> Row:
    def status(value: str) -> str:
        return selector("tron_network_status", SERVICE_FILTER, f'status="{value}"')

    return Row(
        "TRON network",
        [
            timeseries(
                "Dependencies up",
                "Whether the database, Redis and the TRON node answer, as the worst-off pod sees them "
                "(1 up, 0 down).",
                UNITS.SHORT,
                [
                    Query(
                        aggregate(
                            "min", ("dependency",), selector("tron_payment_dependency_up", SERVICE_FILTER)
                        ),
                        "{{dependency}}",
                    )
                ],
            ),
            stat(
                "TRON network status",
                "The worst status any pod reports for the TRON full node (the metric is one-hot per status).",
                UNITS.NO_FORMAT,
                # 0 healthy, 1 degraded, 2 down, from the one-hot series of each pod.
                [
                    Query(
                        aggregate("max", (), f"2 * {status('down')} + ignoring(status) {status('degraded')}")
                    )
                ],
                thresholds=((None, "green"), (1, "orange"), (2, "red")),
                mappings=[
                    G.StatValueMappingItem("Healthy", "0", "green"),
                    G.StatValueMappingItem("Degraded", "1", "orange"),
                    G.StatValueMappingItem("Down", "2", "red"),
                ],
            ),
            timeseries(
                "Block height",
                "The last block each pod has seen; a flat line is a stalled chain or node. The local stack "
                "also shows its devnet's own height.",
                UNITS.LOCAL_FORMAT,
                [
                    Query(
                        aggregate("max", ("instance",), selector("tron_block_height", SERVICE_FILTER)),
                        "{{instance}}",
                    ),
                    Query(aggregate("max", (), "tron_devnet_block_height"), "devnet"),
                ],
            ),
            timeseries(
                "Node call latency p95",
                "95th percentile of calls to the TRON full node, by API method.",
                UNITS.SECONDS,
                [
                    Query(
                        p95("tron_node_request_duration_seconds", SERVICE_FILTER, by=("method",)),
                        "{{method}}",
                    )
                ],
            ),
        ],
    )


def build(slo_file: SloFile) -> G.Dashboard:
    rows = [
        _overview(slo_file),
        _faults_in_force(),
        slo_panels.slo_row(slo_file),
        _pods(),
        _mesh(),
        _payout_pipeline(),
        _tron_network(),
    ]
    return G.Dashboard(
        title="TRON payment service (on-call)",
        uid=UID,
        description="Generated by dashboards/oncall.py from alerts/slos.yaml; do not edit in Grafana.",
        tags=["tron", "payment", "lucid", "oncall"],
        timezone="browser",
        time=G.Time("now-6h", "now"),
        refresh="30s",
        editable=False,
        graphTooltip=G.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        schemaVersion=39,  # the panels are written in today's model (timeseries, stat, datasource refs)
        templating=templating(),
        panels=lay_out(rows),
    ).auto_panel_ids()
