"""The app factory: blueprints, error format, request ids, metrics, and the replica's lifecycle."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import uuid
from datetime import timedelta
from pathlib import Path

from prometheus_client import Counter, Histogram
from quart import Quart, Response, g, request
from quart.sessions import NullSession, SecureCookieSessionInterface
from quart.wrappers import BaseRequestWebsocket
from werkzeug.routing import BaseConverter

from service import VERSION, logs, metrics
from service.callbacks import CallbackSender
from service.config import Config
from service.connection import LeanHTTPConnection, ServiceRequest, requests_in_flight
from service.errors import invalid, register_error_handlers
from service.network import NetworkMonitor
from service.operations import Processor, Safety
from service.ports import Ports
from service.ports.cache import Cache
from service.ports.chain import Chain
from service.ports.store import Store
from service.ports.vault import KeyVault
from service.routes import admin, health, openapi, payments, payouts, staking, tron, usdt, wallets
from service.runtime import Runtime
from service.worker import Worker

log = logging.getLogger(__name__)

_RULE_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# The fixed path segments beside an `<id:...>` one (routes/payments.py, payouts.py).
FIXED_SEGMENTS = ("process", "refund", "reconciliation", "webhook", "initiate", "batch", "cancel", "history")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


@functools.lru_cache(maxsize=256)
def _route_template(rule: str) -> str:
    """`/api/v1/payouts/<payout_id>` -> `/api/v1/payouts/{payout_id}`: bounded label values."""
    return _RULE_PARAM.sub(r"{\1}", rule)


@functools.lru_cache(maxsize=1024)
def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The request counter and duration histogram children of one label set, found once: prometheus'
    `labels()` takes a lock and builds a key on every call. Labels are bounded (templates, not paths)."""
    return (
        metrics.HTTP_REQUESTS.labels(method=method, route=route, status=str(status)),
        metrics.HTTP_DURATION.labels(method=method, route=route),
    )


class NoCookieSessions(SecureCookieSessionInterface):
    """The API is stateless (bearer tokens, no cookies): every request shares one empty read-only
    session, instead of Quart building a cookie session and its signer per request to find none."""

    _none = NullSession()

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> NullSession:
        return self._none


class IdConverter(BaseConverter):
    """A path segment naming an object, never one of its siblings' fixed names: GET /payments/<id>
    must not also claim /payments/process, or OPTIONS and 405 would advertise a GET it does not have."""

    regex = "(?!(?:" + "|".join(FIXED_SEGMENTS) + ")(?:/|$))[^/]+"


def build_ports(config: Config) -> Ports:
    return Ports(
        store=Store(config.mongodb_uri, config.mongodb_db),
        cache=Cache(config.redis_url),
        chain=Chain(
            config.tron_fullnode_url,
            config.usdt_contract_address,
            config.tron_api_key,
            network_name=config.network_name,
            tx_lifetime_ms=int(config.tx_lifetime_seconds * 1000),
            operation_memo=config.operation_memo,
        ),
        vault=KeyVault(config.encryption_key, Path(config.key_escrow_dir) if config.key_escrow_dir else None),
    )


def create_app(config: Config | None = None, ports: Ports | None = None) -> Quart:
    config = config or Config.from_env()
    app = Quart("service")
    app.asgi_http_class = LeanHTTPConnection
    app.request_class = ServiceRequest
    app.url_map.converters["id"] = IdConverter
    app.session_interface = NoCookieSessions()
    app.config["SERVICE"] = config
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keys in the order the views build them
    register_error_handlers(app)
    for blueprint in (
        health.bp,
        openapi.bp,
        tron.bp,
        wallets.bp,
        usdt.bp,
        payouts.bp,
        staking.bp,
        payments.bp,
        admin.bp,
    ):
        app.register_blueprint(blueprint)

    @app.before_serving
    async def start() -> None:
        logs.configure("tron-payment-service", config.pod_name)
        replica_ports = ports or build_ports(config)
        await replica_ports.store.prepare()
        processor = Processor(
            replica_ports,
            f"{config.pod_name}-{uuid.uuid4().hex[:6]}",
            timedelta(seconds=config.worker_lease_seconds),
            Safety(
                resign_margin_ms=int(config.resign_margin_seconds * 1000),
                max_node_lag_ms=int(config.max_node_lag_seconds * 1000),
                exit_after_broadcast=config.test_only_exit_after_broadcast,
            ),
        )
        state = Runtime(replica_ports, NetworkMonitor(replica_ports.chain), processor)
        app.config["RUNTIME"] = state
        app.config["PORTS"] = replica_ports
        if config.worker_enabled:
            state.worker = Worker(
                replica_ports,
                processor,
                config.worker_poll_seconds,
                stop_seconds=config.worker_stop_seconds,
                requests_in_flight=requests_in_flight,
            )
            state.worker.start()
            state.callbacks = CallbackSender(
                replica_ports.store,
                config.callback_secret,
                production=config.production,
                owner=processor.worker_name,
                poll_seconds=config.worker_poll_seconds,
            )
            state.callbacks.start()

    @app.after_serving
    async def stop() -> None:
        state: Runtime = app.config["RUNTIME"]
        if state.callbacks is not None:
            await state.callbacks.stop()
        if state.worker is not None:
            await state.worker.stop()  # its step in flight: at most WORKER_STOP_SECONDS
        # What follows talks to the store (the leases handed back, pymongo's endSessions on close) and
        # gets as long again, all of it: a hung store must not hold the pod past its grace period
        # (`tronops lint`'s drain-timing counts 2 x WORKER_STOP_SECONDS).
        try:
            async with asyncio.timeout(config.worker_stop_seconds):
                if state.worker is not None:
                    await state.worker.release_leases()
                await state.ports.store.close()
                await state.ports.cache.close()
                await state.ports.chain.close()
        except TimeoutError:
            log.warning(
                "no answer from the store at shutdown; leaving without it (leases run out by themselves)"
            )

    @app.before_request
    async def begin() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID")
        g.request_id = incoming if incoming is not None and _REQUEST_ID.match(incoming) else str(uuid.uuid4())
        if request.method in ("POST", "PUT", "PATCH"):
            # Read the whole body before any early refusal: a response sent while the body is still
            # arriving makes the server drop the connection, and a client reusing it fails.
            await request.get_data()
        if incoming is not None and g.request_id != incoming:
            # [decided] As the document says: an id we would not echo is refused, not silently replaced,
            # so a client never correlates its logs with an id we did not use.
            raise invalid("X-Request-ID", "must be 1 to 128 of A-Z a-z 0-9 . _ : - (or left out)")

    @app.after_request
    async def finish(response: Response) -> Response:
        # One proxy lookup each, not one per attribute: this runs on every request.
        context, asked = g._get_current_object(), request._get_current_object()  # type: ignore[attr-defined]
        headers = response.headers
        headers["X-Request-ID"] = getattr(context, "request_id", "")
        headers["X-Service-Version"] = VERSION
        # Set, not setdefault: a 429 carries the same values already, and asking werkzeug's Headers
        # for one it lacks builds an exception (1.7 µs, three per request).
        for name, value in getattr(context, "rate_limit_headers", {}).items():
            headers[name] = value
        route = _route_template(asked.url_rule.rule if asked.url_rule is not None else "unmatched")
        elapsed = time.perf_counter() - getattr(context, "started", time.perf_counter())
        counted, timed = _request_series(asked.method, route, response.status_code)
        counted.inc()
        timed.observe(elapsed)
        logs.access(
            {
                "method": asked.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            }
        )
        return response

    return app
