"""A worker's claim of the next operation, as its round makes it (service/worker.py), for tests that
take work by hand: a crash's successor, racing workers, a restored store."""

from __future__ import annotations

from service.ports.store import Doc, Store


async def claim_next(store: Store, worker: str, lease_until: int, kinds: list[str]) -> Doc | None:
    """The first operation that needs work that this worker wins; None once there is none left."""
    while candidates := await store.claimable(kinds, 5):
        for candidate in candidates:
            if (op := await store.claim(worker, lease_until, candidate)) is not None:
                return op
    return None
