"""kubelet's restart back-off, on a clock the test controls."""

from __future__ import annotations

from stack.pods.backoff import CrashLoopBackOff


def delays(backoff: CrashLoopBackOff, crashes: int, start: float = 0.0, ran_for: float = 1.0) -> list[float]:
    """Each container runs `ran_for` seconds after its restart, then crashes."""
    now, out = start, []
    for _ in range(crashes):
        delay = backoff.restart_delay(now)
        out.append(delay)
        now += delay + ran_for
    return out


def test_first_restart_is_immediate_then_10_20_40_capped_at_300() -> None:
    assert delays(CrashLoopBackOff(), 9) == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_time_scale_shrinks_every_delay_alike() -> None:
    assert delays(CrashLoopBackOff(scale=0.1), 4) == [0, 1, 2, 4]


def test_ten_minutes_without_trouble_forgets_the_back_off() -> None:
    backoff = CrashLoopBackOff()
    assert delays(backoff, 4) == [0, 10, 20, 40]  # the last restart at 73 s
    assert backoff.restart_delay(73 + 599) == 80, "9 min 59 s after the restart: still backing off"
    assert delays(backoff, 2, start=73 + 599 + 80 + 601) == [0, 10], "10 min after: a fresh start"
