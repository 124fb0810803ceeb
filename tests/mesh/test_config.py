"""The production VirtualService and DestinationRule load with the meaning they have in Istio, and
config the local mesh cannot honour is refused with a message naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.mesh.durations import parse_duration
from stack.mesh.istio_config import DEFAULT_RETRY, ConfigError, load
from stack.mesh.routes import RouteTable
from tests.mesh.mesh_process import (
    PRODUCTION_DR,
    PRODUCTION_VS,
    destination_rule,
    route,
    virtual_service,
    write_config,
)

# DESIGN.md, targets from the seed: route timeouts per group (the catch-all is the VirtualService's own).
GROUP_TIMEOUTS = {"tron": 30, "wallets": 30, "usdt": 60, "payouts": 120, "staking": 60, "payments": 90}


def test_production_files_load_every_route_in_order() -> None:
    names = [r["name"] for r in yaml.safe_load(PRODUCTION_VS.read_text())["spec"]["http"]]
    config = load(PRODUCTION_VS, PRODUCTION_DR)
    assert [r.name for r in config.routes] == names
    assert len(config.routes) >= 13  # six groups x (retryable + not) + a catch-all, at least
    assert config.service.fqdn == "tron-payment-service.lucid-payment.svc.cluster.local"


def test_production_routes_keep_the_seed_timeouts_and_retry_only_what_is_safe() -> None:
    routes = {r.name: r for r in load(PRODUCTION_VS, PRODUCTION_DR).routes}
    for group, seconds in GROUP_TIMEOUTS.items():
        retryable, plain = routes[f"{group}-retryable"], routes[group]
        assert retryable.timeout == plain.timeout == seconds
        assert retryable.retry is not None and retryable.retry.retries == 3
        assert retryable.retry.per_try_timeout is not None and retryable.retry.per_try_timeout < seconds
        assert {"5xx", "reset", "connect-failure"} <= retryable.retry.retry_on
        assert plain.retry is None  # attempts: 0, so a POST without Idempotency-Key is never sent twice
        # The retryable route is reached by safe methods or by an Idempotency-Key, and comes first.
        assert list(routes).index(retryable.name) < list(routes).index(plain.name)
        for method, headers, expected in (
            ("GET", [], retryable),
            ("DELETE", [], retryable),
            ("POST", [(b"idempotency-key", b"k-1")], retryable),
            ("POST", [], plain),
            ("POST", [(b"idempotency-key", b"")], plain),
        ):
            chosen = next(r for r in routes.values() if r.applies_to(method, f"/api/v1/{group}/x", headers))
            assert chosen is expected, (group, method, headers, chosen.name)


def test_production_destination_rule_limits() -> None:
    config = load(PRODUCTION_VS, PRODUCTION_DR)
    assert (config.pool.max_connections, config.pool.max_pending) == (100, 50)
    assert config.pool.max_retries is None  # no cluster-wide cap on retries in flight (Istio's default)
    assert config.pool.max_requests_per_connection is None  # 0: keep-alive without a cap
    assert config.outlier is not None
    assert (config.outlier.consecutive_5xx, config.outlier.interval, config.outlier.base_ejection_time) == (
        5,
        30,
        30,
    )
    assert config.outlier.max_ejection_percent == 50


def _load(tmp_path: Path, vs: dict[str, Any], dr: dict[str, Any] | None = None) -> Any:
    return load(
        write_config(vs, tmp_path / "vs.yaml"), write_config(dr or destination_rule(), tmp_path / "dr.yaml")
    )


def test_a_route_without_retries_gets_istios_default_policy(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        virtual_service(route("plain"), route("codes", retries={"attempts": 1, "retryOn": "503,reset"})),
    )
    plain, codes = config.routes
    assert plain.retry == DEFAULT_RETRY
    assert plain.retry.retries == 2 and plain.retry.retriable_status_codes == {503}
    assert codes.retry.retry_on == {
        "reset",
        "retriable-status-codes",
    } and codes.retry.retriable_status_codes == {503}


@pytest.mark.parametrize(
    ("vs", "message"),
    [
        (virtual_service(route("r", match=[{"queryParams": {"a": {"exact": "b"}}}])), "queryParams"),
        (virtual_service(route("r", rewrite={"uri": "/x"})), "rewrite"),
        (virtual_service(route("r", retries={"attempts": 2, "retryOn": "5xx,sometimes"})), "sometimes"),
        (virtual_service(route("r", timeout="soon")), "not a duration"),
        (virtual_service(route("r", match=[{"uri": {"regex": "("}}])), "does not compile"),
        (virtual_service(route("r", match=[{"headers": {"X-Key": {"exact": "1"}}}])), "lower-case"),
        (virtual_service(route("r", fault={"abort": {"httpStatus": 503}})), "percentage"),
        (virtual_service(route("r"), route("r")), "unique"),
        (
            virtual_service({"match": [{"uri": {"prefix": "/"}}], "route": [{"destination": {"host": "x"}}]}),
            "name",
        ),
    ],
)
def test_config_the_mesh_cannot_honour_is_refused_by_name(
    tmp_path: Path, vs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, vs)


def test_unimplemented_traffic_policy_is_refused(tmp_path: Path) -> None:
    dr = destination_rule(
        outlierDetection={"consecutive5xxErrors": 1, "splitExternalLocalOriginErrors": True}
    )
    with pytest.raises(ConfigError, match="splitExternalLocalOriginErrors"):
        _load(tmp_path, virtual_service(route("r")), dr)
    with pytest.raises(ConfigError, match="ROUND_ROBIN"):
        _load(
            tmp_path,
            virtual_service(route("r")),
            {
                **dr,
                "spec": {
                    "host": "tron-payment-service",
                    "trafficPolicy": {"loadBalancer": {"simple": "RANDOM"}},
                },
            },
        )


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30.0), ("1.5s", 1.5), ("250ms", 0.25), ("1m30s", 90.0), ("2h", 7200.0)]
)
def test_durations_read_as_go_does(text: str, seconds: float) -> None:
    assert parse_duration(text, "t") == pytest.approx(seconds)


def test_header_presence_absence_and_uri_case(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        virtual_service(
            route("without-debug", match=[{"uri": {"prefix": "/w"}, "withoutHeaders": {"x-debug": {}}}]),
            route("any-key", match=[{"headers": {"x-key": {}}}]),
            route("caseless", match=[{"uri": {"exact": "/Case"}, "ignoreUriCase": True}]),
            route("rest"),
        ),
    )
    table = RouteTable(config.routes)

    def pick(target: str, *headers: tuple[bytes, bytes]) -> str:
        chosen = table.select("GET", target, list(headers))
        assert chosen is not None
        return chosen.name

    assert pick("/w/1") == "without-debug"
    assert pick("/w/1", (b"x-debug", b"1")) == "rest"
    assert pick("/x", (b"x-key", b"")) == "any-key"  # `{}`: present, whatever the value
    assert pick("/CASE?q=1") == pick("/case") == "caseless"
    assert pick("/cases") == "rest"
