"""Outlier detection's clock, in-process with a fake time: how long ejections last as they repeat."""

from __future__ import annotations

from stack.mesh.endpoints import Endpoint, EndpointSet
from stack.mesh.outlier import OutlierDetector
from stack.mesh.policies import OutlierPolicy

POLICY = OutlierPolicy(consecutive_5xx=2, interval=1.0, base_ejection_time=2.0, max_ejection_percent=100)


def _setup() -> tuple[OutlierDetector, Endpoint, Endpoint]:
    endpoints = EndpointSet(lambda current, removed: None)
    endpoints.replace([("a", "http://127.0.0.1:1001"), ("b", "http://127.0.0.1:1002")])
    a, b = endpoints.endpoints
    return OutlierDetector(POLICY, endpoints), a, b


def _sweep_until_back(detector: OutlierDetector, endpoint: Endpoint, now: float) -> float:
    """Run the interval sweeps from `now` until `endpoint` is back; the time it came back."""
    while endpoint.ejected:
        now += POLICY.interval
        detector.sweep(now)
    return now


def test_streak_ejects_and_a_success_resets_it() -> None:
    detector, a, _ = _setup()
    detector.record(a, 503, 0.0)
    detector.record(a, 200, 0.1)
    detector.record(a, 500, 0.2)
    assert not a.ejected
    detector.record(a, 504, 0.3)
    assert a.ejected and a.ejections == 1 and a.consecutive_5xx == 0


def test_repeated_ejections_last_longer_and_the_multiplier_decays() -> None:
    detector, a, b = _setup()
    detector.record(a, 500, 0.0)
    detector.record(a, 500, 0.0)
    assert a.ejected_for == 2.0
    back = _sweep_until_back(detector, a, 0.0)
    assert back == 2.0
    detector.record(a, 500, back)
    detector.record(a, 500, back)
    assert a.ejected_for == 4.0  # base x 2: ejected a second time in a row
    back = _sweep_until_back(detector, a, back)
    assert back == 6.0
    # Healthy intervals bring the multiplier down by one each.
    for step in range(1, 4):
        detector.sweep(back + step * POLICY.interval)
    assert a.backoff == 0
    detector.record(a, 500, 20.0)
    detector.record(a, 500, 20.0)
    assert a.ejected_for == 2.0
    assert not b.ejected


def test_endpoint_set_picks_round_robin_over_the_healthy_avoiding_tried() -> None:
    detector, a, b = _setup()
    endpoints = detector.endpoints
    assert [endpoints.pick(set()) for _ in range(4)] == [a, b, a, b]
    assert endpoints.pick({a}) is b and endpoints.pick({b}) is a
    detector.record(a, 500, 0.0)
    detector.record(a, 500, 0.0)
    assert [endpoints.pick(set()) for _ in range(3)] == [b, b, b]
    assert endpoints.pick({b}) is b  # nothing untried is left: the only healthy one again
