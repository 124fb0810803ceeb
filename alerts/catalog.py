"""The metrics that exist, by where they come from: what rules and dashboards may query.

Names, types and labels as each source exports them (../shared/API.md for the service; the local
mesh, devnet and Kubernetes exporters for the rest). A rule or panel that names anything else
queries nothing, silently; the PromQL checks in alerts/promql.py read this to say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from alerts import slos

COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"
HISTOGRAM_SERIES = ("_bucket", "_count", "_sum")
# The service's buckets (service/metrics.py): 5 ms to 120 s, the longest route timeout.
SERVICE_LARGEST_BUCKET_S = 120.0
# Envoy's default histogram buckets, which Istio's duration metric uses, stop at one hour.
ISTIO_LARGEST_BUCKET_MS = 3_600_000.0


@dataclass(frozen=True)
class Metric:
    name: str
    type: str  # counter | gauge | histogram
    labels: frozenset[str] | None  # None: any label (e.g. ALERTS carries each alert's labels)
    help: str
    value_range: tuple[float, float] | None = None  # gauges bounded by meaning (0/1 flags)
    largest_bucket: float | None = None  # histograms: the largest finite `le`
    # Labels with a closed set of values, as (label, values) pairs; a selector naming another is empty.
    label_values: tuple[tuple[str, frozenset[str]], ...] = ()
    # One-hot gauges: the label whose value is the state; one series per state, 1 for the current one.
    one_hot: str | None = None

    def values_of(self, label: str) -> frozenset[str] | None:
        """The closed set of values of `label`, or None when any value may occur."""
        return next((values for name, values in self.label_values if name == label), None)


@dataclass(frozen=True)
class Source:
    name: str
    target_labels: frozenset[str]  # added by the scrape: job, instance and relabelled ones
    metrics: tuple[Metric, ...]


def _metric(
    name: str,
    kind: str,
    labels: str,
    help: str,
    value_range: tuple[float, float] | None = None,
    largest_bucket: float | None = None,
    values: dict[str, str] | None = None,
    one_hot: str | None = None,
) -> Metric:
    """`values` gives the closed value sets of some labels, space-separated: {"status": "up down"}."""
    closed = tuple((label, frozenset(text.split())) for label, text in (values or {}).items())
    return Metric(name, kind, frozenset(labels.split()), help, value_range, largest_bucket, closed, one_hot)


FLAG = (0.0, 1.0)

SERVICE = Source(
    "tron-payment-service (API.md metrics contract)",
    # Locally relabelled with namespace and app; in Kubernetes the ServiceMonitor adds the rest.
    frozenset({"job", "instance", "namespace", "app", "pod", "service", "container", "endpoint"}),
    (
        _metric("http_requests_total", COUNTER, "method route status", "every request"),
        _metric(
            "http_request_duration_seconds",
            HISTOGRAM,
            "method route",
            "request duration",
            largest_bucket=SERVICE_LARGEST_BUCKET_S,
        ),
        _metric(
            "tron_network_status",
            GAUGE,
            "status",
            "one-hot: healthy|degraded|down",
            value_range=FLAG,
            values={"status": "healthy degraded down"},  # service/metrics.py NETWORK_STATES
            one_hot="status",
        ),
        _metric("tron_usdt_transfers_total", COUNTER, "status", "TRC20 transfers"),
        _metric("tron_payouts_processed_total", COUNTER, "currency status", "payouts in a final state"),
        _metric("tron_payment_rate_limit_exceeded_total", COUNTER, "group", "requests refused with 429"),
        _metric("tron_payout_queue_depth", GAUGE, "priority", "payouts waiting for the worker"),
        _metric("tron_block_height", GAUGE, "", "last TRON block height seen"),
        _metric(
            "tron_oldest_unfinished_operation_age_seconds",
            GAUGE,
            "kind",
            "age of the oldest operation not yet final (0 when none)",
        ),
        _metric(
            "tron_payment_dependency_up",
            GAUGE,
            "dependency",
            "1 when the dependency (database, redis, tron_node) is reachable",
            value_range=FLAG,
        ),
        _metric("tron_payouts_frozen", GAUGE, "", "1 while the payout kill switch is on", value_range=FLAG),
        _metric(
            "tron_operation_lease_takeovers_total",
            COUNTER,
            "",
            "operations claimed after another worker's lease ran out",
        ),
        _metric(
            "tron_operations_blocked_on_fees",
            GAUGE,
            "currency",
            "operations not yet sent whose source wallet lacks the TRX they need",
        ),
        _metric(
            "tron_node_request_duration_seconds",
            HISTOGRAM,
            "method",
            "calls to the full node",
            largest_bucket=SERVICE_LARGEST_BUCKET_S,
        ),
    ),
)

_ISTIO_LABELS = (
    "reporter source_workload destination_workload destination_service destination_service_name"
    " request_protocol response_code response_flags route_name"
)
MESH = Source(
    "istio-mesh",
    frozenset({"job", "instance", "namespace"}),
    (
        _metric("istio_requests_total", COUNTER, _ISTIO_LABELS, "requests through the mesh"),
        _metric(
            "istio_request_duration_milliseconds",
            HISTOGRAM,
            _ISTIO_LABELS,
            "request duration through the mesh",
            largest_bucket=ISTIO_LARGEST_BUCKET_MS,
        ),
        _metric(
            "tron_mesh_endpoint_ejected",
            GAUGE,
            "endpoint",
            "1 while outlier detection ejects it",
            value_range=FLAG,
        ),
        _metric("tron_mesh_upstream_retries_total", COUNTER, "route_name", "retries the mesh made"),
        _metric(
            "tron_mesh_faults_active",
            GAUGE,
            "route_name kind",
            "1 while an Istio fault of the kind is in force on the route",
            value_range=FLAG,
            values={"kind": "abort delay"},
        ),
    ),
)

DEVNET = Source(
    "tron-devnet",
    frozenset({"job", "instance", "namespace"}),
    (
        _metric("tron_devnet_block_height", GAUGE, "", "number of the latest block"),
        _metric("tron_devnet_up", GAUGE, "", "1 unless the down fault is injected", value_range=FLAG),
        _metric("tron_devnet_pending_transactions", GAUGE, "", "transactions waiting for a block"),
        _metric("tron_devnet_requests_total", COUNTER, "path code", "HTTP requests to the devnet"),
        _metric("tron_devnet_broadcasts_total", COUNTER, "code", "broadcast answers by java-tron code"),
        _metric(
            "tron_devnet_faults_active",
            GAUGE,
            "fault",
            "1 while the injected fault is in force",
            value_range=FLAG,
            values={"fault": "refuse internal_error lose_answer lag revert_trc20 down latency stall"},
        ),
    ),
)

# Pushed by the money audit's CronJob (tronops audit --pushgateway) to the Pushgateway, scraped with
# honor_labels: job is tron-payment-audit.
AUDIT = Source(
    "tron-payment-audit",
    frozenset({"job", "instance"}),
    (
        _metric(
            "tron_audit_findings",
            GAUGE,
            "kind",
            "findings of the last money audit, per kind",
            values={
                "kind": "paid_twice accepted_but_lost unknown_to_ledger amount_mismatch stuck "
                "fee_burned_on_revert"
            },
        ),
        _metric(
            "tron_audit_up", GAUGE, "", "1 if the last money audit could read both sides", value_range=FLAG
        ),
        _metric("tron_audit_last_success_timestamp_seconds", GAUGE, "", "when a money audit last completed"),
    ),
)

_CADVISOR_LABELS = "namespace pod container id image name"
KUBERNETES = Source(
    "Kubernetes (cAdvisor, kube-state-metrics)",
    frozenset({"job", "instance"}),
    (
        _metric("container_memory_working_set_bytes", GAUGE, _CADVISOR_LABELS, "what the OOM killer counts"),
        _metric("container_cpu_usage_seconds_total", COUNTER, _CADVISOR_LABELS, "CPU time used"),
        _metric(
            "kube_pod_container_resource_limits",
            GAUGE,
            "namespace pod uid container node resource unit",
            "limits by resource (memory: byte, cpu: core)",
            values={"unit": "core byte integer"},  # kube-state-metrics' units
        ),
        _metric(
            "kube_pod_status_ready",
            GAUGE,
            "namespace pod uid condition",
            "1 for the pod's condition",
            value_range=FLAG,
            values={"condition": "true false unknown"},
            one_hot="condition",
        ),
        _metric(
            "kube_pod_container_status_restarts_total", COUNTER, "namespace pod uid container", "restarts"
        ),
    ),
)

PROMETHEUS = Source(
    "Prometheus itself",
    frozenset({"job", "instance"}),
    (
        # `up` and the scrape series carry every target's labels, whichever job it is.
        _metric("up", GAUGE, "namespace app pod", "1 if the last scrape succeeded", value_range=FLAG),
        _metric("scrape_duration_seconds", GAUGE, "namespace app pod", "how long the scrape took"),
        _metric("scrape_samples_scraped", GAUGE, "namespace app pod", "samples in the last scrape"),
        Metric("ALERTS", GAUGE, None, "1 per pending or firing alert", value_range=(1.0, 1.0)),
        Metric("ALERTS_FOR_STATE", GAUGE, None, "when each pending alert became active"),
        _metric(
            "prometheus_rule_evaluation_failures_total", COUNTER, "rule_group", "failed rule evaluations"
        ),
        _metric("prometheus_rule_group_last_duration_seconds", GAUGE, "rule_group", "rule group eval time"),
        _metric("prometheus_notifications_dropped_total", COUNTER, "", "alerts not sent to Alertmanager"),
        _metric("alertmanager_notifications_failed_total", COUNTER, "integration reason", "failed sends"),
    ),
)


def _recorded() -> Source:
    """The SLI series that the generated rules record (alerts/slos.yaml), at every window they use."""
    slo_file = slos.load()
    labels = "slo route_group rules_profile"
    return Source(
        "recording rules generated from alerts/slos.yaml",
        frozenset(),
        tuple(
            _metric(
                slos.sli_record(window),
                GAUGE,
                labels,
                f"bad-event ratio over {window}",
                value_range=(0.0, 1.0),
            )
            for window in slo_file.windows
        ),
    )


@cache
def sources() -> tuple[Source, ...]:
    return SERVICE, MESH, DEVNET, AUDIT, KUBERNETES, PROMETHEUS, _recorded()


@dataclass(frozen=True)
class Series:
    """What one selectable series name is: its metric, and which labels and values it can have."""

    name: str
    metric: Metric
    labels: frozenset[str] | None
    is_counter: bool

    @property
    def is_bucket(self) -> bool:
        return self.metric.type == HISTOGRAM and self.name.endswith("_bucket")


@cache
def _series_index() -> dict[str, Series]:
    index: dict[str, Series] = {}
    for source in sources():
        for metric in source.metrics:
            labels = None if metric.labels is None else metric.labels | source.target_labels
            if metric.type != HISTOGRAM:
                index[metric.name] = Series(metric.name, metric, labels, metric.type == COUNTER)
                continue
            for suffix in HISTOGRAM_SERIES:
                series_labels = labels | {"le"} if labels is not None and suffix == "_bucket" else labels
                index[metric.name + suffix] = Series(metric.name + suffix, metric, series_labels, True)
    return index


def series(name: str) -> Series | None:
    """The catalogue entry for a series name (histograms answer to _bucket, _count and _sum)."""
    return _series_index().get(name)


def metric(name: str) -> Metric | None:
    """A metric by its family name (a histogram by its name without suffix)."""
    return next((m for source in sources() for m in source.metrics if m.name == name), None)
