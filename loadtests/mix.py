"""What the load's users send, by weight: production's mix, where reads dominate.

Each entry is one request (its Locust name is the templated path, so a route group's statistics stay
together); loadtests/journeys.py sends it. The gates read the mix too: a group's share of the offered
load is its throughput floor's base. Kept free of Locust, so the pure logic imports it without gevent.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness import objectives


@dataclass(frozen=True)
class Request:
    name: str  # "METHOD /templated/path": Locust's name, and where its route group comes from
    weight: int
    writes: bool = False  # creates something; a money move when `moves_money`
    moves_money: bool = False

    @property
    def group(self) -> str:
        return objectives.current().route_group(self.name.split(" ", 1)[1])


MIX: tuple[Request, ...] = (
    Request("GET /api/v1/tron/network/status", 8),
    Request("GET /api/v1/tron/network/info", 4),
    Request("GET /api/v1/tron/network/height", 4),
    Request("GET /api/v1/tron/network/fees", 4),
    Request("GET /api/v1/wallets", 6),
    Request("GET /api/v1/wallets/{wallet_id}", 4),
    Request("GET /api/v1/wallets/{wallet_id}/balance", 5),
    Request("GET /api/v1/wallets/{wallet_id}/transactions", 3),
    Request("POST /api/v1/wallets", 2, writes=True),
    Request("GET /api/v1/usdt/balance/{address}", 6),
    Request("GET /api/v1/usdt/allowance", 3),
    Request("GET /api/v1/usdt/transfers/{transfer_id}", 3),
    Request("POST /api/v1/usdt/transfer", 3, writes=True, moves_money=True),
    Request("GET /api/v1/payouts/{payout_id}", 8),
    Request("GET /api/v1/payouts/history", 4),
    Request("POST /api/v1/payouts/initiate", 5, writes=True, moves_money=True),
    Request("GET /api/v1/staking/status/{address}", 6),
    Request("GET /api/v1/staking/rewards/{address}", 4),
    Request("POST /api/v1/staking/stake", 2, writes=True, moves_money=True),
    Request("GET /api/v1/payments/{payment_id}", 6),
    Request("GET /api/v1/payments/reconciliation", 4),
    Request("POST /api/v1/payments/process", 4, writes=True, moves_money=True),
)


def mix(read_only: bool) -> tuple[Request, ...]:
    """The requests sent: without writes in read-only mode."""
    return tuple(r for r in MIX if not (read_only and r.writes))


def shares(read_only: bool) -> dict[str, float]:
    """Each route group's share of the requests."""
    sent = mix(read_only)
    total = sum(r.weight for r in sent)
    groups: dict[str, float] = {}
    for request in sent:
        groups[request.group] = groups.get(request.group, 0.0) + request.weight / total
    return groups


def offered(user_seconds: float, pace_seconds: float, read_only: bool) -> dict[str, float]:
    """Requests each group was offered: every user sends one per `pace_seconds` while it runs."""
    return {group: user_seconds / pace_seconds * share for group, share in shares(read_only).items()}
