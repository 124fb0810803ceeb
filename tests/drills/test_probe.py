"""RTO: from the fault to the first answer of a window of requests within the latency SLO."""

from __future__ import annotations

from drills.canaries import Probe


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
