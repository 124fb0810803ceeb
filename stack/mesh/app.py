"""Wire the mesh together and serve until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from stack.mesh.admin import Admin
from stack.mesh.discovery import EndpointPoller
from stack.mesh.downstream import Connections, Handler, ServerConnection
from stack.mesh.endpoints import Endpoint, EndpointSet
from stack.mesh.faults import FaultTable
from stack.mesh.istio_config import load
from stack.mesh.metrics import MeshMetrics
from stack.mesh.outlier import OutlierDetector
from stack.mesh.proxy import Proxy
from stack.mesh.router import Router
from stack.mesh.routes import RouteTable
from stack.mesh.upstream import ConnectionPool

log = logging.getLogger("stack.mesh")

DRAIN_SECONDS = 10.0  # how long a stop waits for requests in flight before closing their connections
BACKLOG = 1024  # load tests open many connections at once


class StartupError(RuntimeError):
    """The mesh cannot start (a port in use, say); the message says which and why."""


@dataclass
class Options:
    listen: tuple[str, int]
    admin: tuple[str, int]
    virtual_service: Path
    destination_rule: Path
    endpoints_url: str | None = None
    endpoints: list[tuple[str, str]] = field(default_factory=list)


async def serve(options: Options, announce: Callable[[dict[str, str]], None]) -> None:
    """Run until SIGTERM or SIGINT; `announce` gets the ready event once both ports listen."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    config = load(options.virtual_service, options.destination_rule)
    metrics = MeshMetrics(config.service)
    pool = ConnectionPool(config.pool)

    def endpoints_changed(current: list[Endpoint], removed: list[Endpoint]) -> None:
        metrics.endpoints_changed(current, removed)
        for endpoint in removed:
            pool.drop(endpoint)

    endpoints = EndpointSet(endpoints_changed)
    outlier = OutlierDetector(config.outlier, endpoints)
    routes = RouteTable(config.routes)
    faults = FaultTable({route.name: route.fault for route in config.routes if route.fault is not None})
    metrics.watch_faults([route.name for route in config.routes], faults.active)
    proxy = Proxy(routes, faults, Router(endpoints, pool, outlier, config.pool, metrics.count_retry), metrics)
    admin = Admin(routes, faults, endpoints, metrics, options.endpoints_url or "--endpoint")
    client_connections = Connections()
    admin_connections = Connections()
    proxy_server = await _listen(options.listen, proxy.handle, client_connections, "proxy")
    try:
        admin_server = await _listen(options.admin, admin.handle, admin_connections, "admin")
    except StartupError:
        proxy_server.close()
        raise
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(outlier.run())]
    async with httpx.AsyncClient() as client:
        if options.endpoints_url:
            poller = EndpointPoller(options.endpoints_url, endpoints)
            await poller.poll_once(client)  # start with the pods that are ready now, if the list is readable
            tasks.append(asyncio.create_task(poller.run(client)))
        else:
            endpoints.replace(options.endpoints)
        log.info("routes: %s", ", ".join(route.name for route in config.routes))
        announce({"event": "mesh_ready", "listen": _address(proxy_server), "admin": _address(admin_server)})
        await stop.wait()
        log.info("stopping: no new connections; waiting up to %.0f s for requests in flight", DRAIN_SECONDS)
        proxy_server.close()
        admin_server.close()
        deadline = loop.time() + DRAIN_SECONDS
        while client_connections.busy() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    client_connections.close_all()
    admin_connections.close_all()
    pool.close_all()
    log.info("stopped")


async def _listen(
    address: tuple[str, int], handler: Handler, connections: Connections, what: str
) -> asyncio.Server:
    host, port = address
    try:
        return await asyncio.get_running_loop().create_server(
            lambda: ServerConnection(handler, connections), host, port, backlog=BACKLOG
        )
    except OSError as exc:
        raise StartupError(f"cannot listen for {what} on {host}:{port}: {exc.strerror or exc}") from None


def _address(server: asyncio.Server) -> str:
    host, port = server.sockets[0].getsockname()[:2]
    return f"{host}:{port}"
