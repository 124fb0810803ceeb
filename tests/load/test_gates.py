"""The gates: the SLO ceilings per route group, the throughput floor, the regression gate against a
baseline, and the abort rule (a gate no later traffic can save)."""

from __future__ import annotations

from pathlib import Path

from harness import objectives
from loadtests import gates, mix
from loadtests.latency import ByGroup, Latencies

FACTS = objectives.current()


def _group(latencies_ms: list[float], failures: int = 0) -> Latencies:
    entry = Latencies()
    for ms in latencies_ms:
        entry.record(ms)
    for _ in range(failures):
        entry.fail("503")
    return entry


def _verdicts(verdicts: list[dict[str, object]], group: str) -> dict[str, str]:
    return {str(v["name"]): str(v["outcome"]) for v in verdicts if v["group"] == group}


def test_the_slo_gates_come_from_the_objectives() -> None:
    bounds = {b.name: b for b in gates.ceilings(["payouts"])}
    assert bounds["p95"].threshold == FACTS.slo("latency").threshold_seconds * 1000
    assert bounds["p99"].threshold == FACTS.load_gates.p99_ceiling_seconds * 1000
    assert bounds["error ratio"].threshold == FACTS.slo("availability").error_budget
    assert set(bounds) == {"p95", "p99", "error ratio"}  # no baseline, no regression gate


def test_a_slow_group_fails_its_p95_and_names_itself() -> None:
    fast, slow = _group([20.0] * 200), _group([20.0] * 180 + [2500.0] * 20)
    verdicts = gates.judge(ByGroup(tron=fast, payouts=slow), {"tron": 200, "payouts": 200}, 10.0)
    assert _verdicts(verdicts, "payouts")["p95"] == "fail"
    assert _verdicts(verdicts, "tron") == {
        "p95": "pass",
        "p99": "pass",
        "error ratio": "pass",
        "throughput": "pass",
    }


def test_errors_fail_the_error_ratio_but_not_the_latency_of_the_successful() -> None:
    verdicts = gates.judge(ByGroup(usdt=_group([15.0] * 190, failures=10)), {"usdt": 200}, 10.0)
    assert _verdicts(verdicts, "usdt") == {
        "p95": "pass",
        "p99": "pass",
        "error ratio": "fail",
        "throughput": "pass",
    }


def test_a_group_that_served_less_than_offered_fails_the_throughput_floor() -> None:
    served = _group([15.0] * 100)
    verdicts = gates.judge(ByGroup(wallets=served), {"wallets": 200}, 10.0)
    throughput = next(v for v in verdicts if v["name"] == "throughput")
    assert (throughput["outcome"], throughput["measured"], throughput["threshold"]) == (
        "fail", 10.0, FACTS.load_gates.throughput_floor_share * 20,
    )  # fmt: skip


def test_too_few_requests_are_inconclusive_not_passed() -> None:
    verdicts = gates.judge(ByGroup(staking=_group([10.0] * 5)), {"staking": 5}, 10.0)
    assert _verdicts(verdicts, "staking")["p95"] == "inconclusive"


def test_the_regression_gate_sees_what_the_slo_cannot(tmp_path: Path) -> None:
    before = ByGroup(tron=_group([30.0] * 300))
    recorded = gates.Baseline.of("smoke", "local", 1.0, False, before).write(tmp_path / "smoke.json")
    baseline = gates.Baseline.read(recorded)
    slower = ByGroup(tron=_group([130.0] * 300))  # +100 ms: far inside the 2 s SLO
    outcomes = _verdicts(gates.judge(slower, {"tron": 300}, 10.0, baseline), "tron")
    assert outcomes["p95"] == "pass" and outcomes["p95 vs baseline"] == "fail"
    same = _verdicts(gates.judge(before, {"tron": 300}, 10.0, baseline), "tron")
    assert same["p95 vs baseline"] == "pass" and same["error ratio vs baseline"] == "pass"


def test_a_gate_is_beyond_recovery_only_when_no_later_traffic_can_save_it() -> None:
    bound = next(b for b in gates.ceilings(["tron"]) if b.name == "error ratio")
    one_error = _group([10.0] * 99, failures=1)  # 1 % so far, against 0.1 %
    assert gates.beyond_recovery(bound, one_error, elapsed=10.0, remaining=10.0)
    # The same so far, but with a long run to come, 1 in 100 could still end under the budget.
    assert not gates.beyond_recovery(bound, one_error, elapsed=10.0, remaining=10_000.0)
    assert not gates.beyond_recovery(bound, _group([10.0] * 5, failures=5), elapsed=10.0, remaining=1.0)


def test_the_mix_keeps_every_user_under_each_rate_limit() -> None:
    """A user sends one request a pace; its share of each group stays under the limit's headroom."""
    from loadtests.profiles import profiles

    pace = min(p.pace_seconds for p in profiles().values())
    for read_only in (False, True):
        for group, share in mix.shares(read_only).items():
            per_minute = 60 / pace * share
            assert per_minute <= FACTS.load_gates.rate_headroom * FACTS.rate_limit(group), group


def test_every_route_group_is_in_the_mix() -> None:
    assert set(mix.shares(read_only=True)) == set(FACTS.route_groups)
    assert not any(r.writes for r in mix.mix(read_only=True))
