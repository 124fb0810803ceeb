"""RTO: from the fault to the first answer of a window of requests within the latency SLO; RPO's
lookups: a write is lost only if the service, answering, does not have it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest

from drills.canaries import ANSWER_WAIT_S, Ack, Canaries, Probe
from harness.clients.api import Api
from harness.clients.http import metric_sum
from harness.faults import process_stopped
from harness.waiting import wait_for
from stack.local import Backends
from stack.processes import Part


def test_rto_counts_from_the_first_answer_of_a_window_within_the_slo() -> None:
    probe = Probe(api=None)  # type: ignore[arg-type]
    probe.samples = [
        (0.0, False, 0.1),
        (0.2, True, 1.5),
        (1.8, True, 3.0),
        (5.0, True, 0.2),
        (5.3, True, 0.1),
    ]
    assert probe.recovered_at(2, latency_s=2.0) == 5.2  # the 3 s answer breaks the first run
    assert probe.recovered_at(3, latency_s=2.0) is None


@pytest.mark.e2e  # the service as a process, its store stopped for a while
def test_a_canary_lookup_asks_again_while_the_service_cannot_answer(
    backends: Backends, service: Part, api_as: Callable[..., Api]
) -> None:
    """Right after a restore the service may answer 503 (its store not reachable yet; the mesh with no
    ready endpoint answers 503 in plain text): a write that survived is not counted lost for that, and
    no body is read from such an answer. The lookup asks again until the service answers."""
    user = api_as("admin")
    wallet = user.wallet("TRX")
    ack = Ack("wallet", 0, time.time(), f"/api/v1/wallets/{wallet['wallet_id']}")
    route = {"method": "GET", "route": "/api/v1/wallets/{wallet_id}", "status": "503"}
    refused_before = metric_sum(httpx.get(f"{service.url}/metrics").text, "http_requests_total", **route)
    found: list[bool] = []
    with process_stopped("store", backends.store.pid, ttl_s=60):
        looking = threading.Thread(target=lambda: found.append(Canaries(api=user).present(ack)))
        looking.start()
        wait_for(
            lambda: (
                metric_sum(httpx.get(f"{service.url}/metrics").text, "http_requests_total", **route)
                > refused_before
            ),
            20,
            "the lookup answered 503 while the store is stopped",
        )
    looking.join(timeout=ANSWER_WAIT_S + 10)
    assert found == [True]
