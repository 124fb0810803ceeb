"""One money move at a time per source address on a replica, from its funds check to its stored operation.

The funds check reads the chain balance and what the address's open operations already promise, and
the new operation is stored after it: two steps. Moves from one address checked together each see
the same promised sums (and in one event-loop turn share one read of them), so all of them pass; a hot
wallet holding 10 TRX answered 16 concurrent 1-TRX payouts 202, and the chain then refused six of
them (tests/e2e/test_payouts.py). Holding the address from the read of what it already promises
until the operation is stored makes the next move's check count it (service/routes/common.py,
`store_funded`; a move that finds the address held asks the node before it waits, so a slow node is
not waited for in turn). Moves from other addresses never wait for each other.

This closes the window within a replica only: replicas do not share the hold, so at most one move per
replica can pass a check that another replica's move, checked at the same moment, makes stale. What
the chain refuses then fails with the node's reason, and nothing leaves that is not there.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class _Hold:
    """An address's lock, and how many moves hold or wait for it: it goes when the last one leaves."""

    __slots__ = ("_address", "_holds", "lock", "users")

    def __init__(self, holds: dict[str, _Hold], address: str) -> None:
        self._holds, self._address = holds, address
        self.lock = asyncio.Lock()
        self.users = 0

    async def __aenter__(self) -> None:
        self.users += 1
        try:
            await self.lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.lock.release()
        self._leave()

    def _leave(self) -> None:
        self.users -= 1
        if not self.users:
            del self._holds[self._address]


class Spending:
    def __init__(self) -> None:
        self._holds: dict[str, _Hold] = {}

    def held(self, address: str) -> bool:
        """Whether a move from `address` holds it (or waits for it) now."""
        return address in self._holds

    def hold(self, address: str) -> _Hold:
        """`async with` it to hold `address` for one move: check its funds and store its operation
        inside the block. A plain class, not a generator: it is on every money move's path."""
        found = self._holds.get(address)
        if found is None:
            found = self._holds[address] = _Hold(self._holds, address)
        return found
