"""Ports to the outside world: the routes and the worker receive these, so each can be swapped."""

from __future__ import annotations

from dataclasses import dataclass

from service.ports.cache import Cache
from service.ports.chain import Chain
from service.ports.store import Store
from service.ports.vault import KeyVault


@dataclass
class Ports:
    store: Store
    cache: Cache
    chain: Chain
    vault: KeyVault
