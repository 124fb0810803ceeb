"""What one replica holds while it serves: its ports, the network monitor, the worker, drain state."""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import current_app

from service.callbacks import CallbackSender
from service.network import NetworkMonitor
from service.operations import Processor
from service.ports import Ports
from service.spending import Spending
from service.worker import Worker


@dataclass
class Runtime:
    ports: Ports
    monitor: NetworkMonitor
    processor: Processor
    worker: Worker | None = None
    callbacks: CallbackSender | None = None
    draining: bool = field(default=False)
    spending: Spending = field(default_factory=Spending)


def runtime() -> Runtime:
    return current_app.config["RUNTIME"]  # type: ignore[no-any-return]


def ports() -> Ports:
    return runtime().ports
