"""What the store-level tests share: a fresh database each, and operations stored as the routes do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.operations import new_operation
from service.ports.store import Doc, Store
from stack.local import Backends


@pytest.fixture
async def store(backends: Backends) -> AsyncIterator[Store]:
    """A database of the test's own on the session's store, with every index the service makes."""
    store = Store(backends.store.url, f"integration_{uuid.uuid4().hex[:8]}")
    await store.prepare()
    yield store
    await store.close()


async def store_operation(store: Store, kind: str, user: str, **fields: Any) -> Doc:
    """An operation stored as the routes store one (new id; `fields` as the route would set them)."""
    op, _ = await store.insert_operation(new_operation(kind, str(uuid.uuid4()), user, **fields))
    return op
