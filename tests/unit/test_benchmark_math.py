import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from loadtests.benchmark import Bench, Measured, PayoutQueue, least_slowed, median_of, run_benchmark
from loadtests.stats import pool_size, rss_slope, rss_verdict, share
from loadtests.wrk import Plan, WrkError, WrkResult, lua_string, parse_output

MIB = 1024 * 1024


def test_pool_keeps_every_user_under_the_limit_within_a_minute() -> None:
    users = pool_size(rate=1000, seconds=12, limit_per_minute=100, safety=1.0)
    assert 1000 * 12 / users <= 100 * 0.8
    assert 1000 * 12 / (users - 1) > 100 * 0.8  # and no more users than that needs


def test_pool_for_a_long_run_is_sized_by_one_window_not_the_whole_run() -> None:
    assert pool_size(100, 300, 100) == pool_size(100, 60, 100) == pool_size(100, 3600, 100)


def test_pool_has_at_least_one_user() -> None:
    assert pool_size(0, 10, 100) == 1


def test_share_of_bare_throughput() -> None:
    assert share(350, 1000) == pytest.approx(0.35)
    assert share(10, 0) == 0.0


def _ramp(values_mib: list[float], every: float = 10.0) -> list[tuple[float, int]]:
    return [(i * every, int(v * MIB)) for i, v in enumerate(values_mib)]


def test_flat_rss_after_warm_up_passes_even_if_warm_up_grew() -> None:
    verdict = rss_verdict(_ramp([60, 90, 100, 101, 100, 101, 100, 101]), 20, 200 * MIB, 0.10)
    assert verdict.ok, verdict.reason
    assert verdict.growth is not None and abs(verdict.growth) < 0.02


def test_growing_rss_fails_with_the_growth_named() -> None:
    verdict = rss_verdict(_ramp([100, 100, 110, 120, 130, 140, 150]), 10, 200 * MIB, 0.10)
    assert not verdict.ok
    assert verdict.growth == pytest.approx(145 / 105 - 1, rel=1e-3)
    assert "grew" in verdict.reason


def test_rss_over_the_limit_fails() -> None:
    verdict = rss_verdict(_ramp([210, 210, 210, 210]), 0, 200 * MIB, 0.10)
    assert not verdict.ok and "reached 210.0 MiB" in verdict.reason


def test_too_few_samples_cannot_pass() -> None:
    verdict = rss_verdict(_ramp([50, 50, 50]), 15, 200 * MIB, 0.10)
    assert not verdict.ok and verdict.growth is None


def test_wrk_output_is_parsed_with_non_2xx_by_status() -> None:
    result = parse_output(
        "Running 10s test @ http://127.0.0.1:1\n"
        "WRK_RESULT duration_us=10000000 requests=5000 p50_us=2500 p99_us=12000 socket_errors=2\n"
        "WRK_STATUS 429 30\nWRK_STATUS 503 20\n"
    )
    assert result.rps == 500
    assert (result.p50_ms, result.p99_ms) == (2.5, 12.0)
    assert result.statuses == {429: 30, 503: 20}
    assert result.errors == 52
    assert result.error_rate == pytest.approx(52 / 5002)


def test_wrk_output_without_a_result_is_an_error() -> None:
    with pytest.raises(WrkError):
        parse_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_plan_becomes_a_lua_table_with_quotes_escaped() -> None:
    lua = Plan("POST", ["/p"], ["t1"], ['{"a":"b\\\\c"}'], "k-").to_lua()
    assert lua == (
        'return {method="POST", paths={"/p"}, tokens={"t1"}, '
        'bodies={"{\\"a\\":\\"b\\\\\\\\c\\"}"}, key_prefix="k-"}\n'
    )


def test_lua_strings_refuse_what_could_break_the_script() -> None:
    with pytest.raises(ValueError):
        lua_string("line\nbreak")


def test_rss_slope_is_per_minute_after_warm_up_and_flat_memory_has_none() -> None:
    ramp = [(float(t), 100 * MIB + t * MIB // 10) for t in range(0, 300, 10)]  # +0.1 MiB/s = +6 MiB/min
    assert rss_slope(ramp, 60) == pytest.approx(6 * MIB, rel=0.01)
    assert rss_slope([(float(t), 100 * MIB) for t in range(0, 300, 10)], 60) == 0
    assert rss_slope([(0.0, MIB), (100.0, 2 * MIB)], 60) is None, "one sample after warm-up: no slope"


def test_rss_that_peaked_over_the_limit_fails_even_when_it_ends_under() -> None:
    verdict = rss_verdict(_ramp([100, 100, 250, 100, 100, 100, 100]), 0, 200 * MIB, 0.10)
    assert not verdict.ok and "250.0 MiB" in verdict.reason


def _run(rps: float) -> WrkResult:
    return WrkResult(seconds=10, requests=int(rps * 10), p50_ms=1, p99_ms=2, socket_errors=0, statuses={})


def test_server_targets_are_judged_per_cpu_second_when_the_replica_did_not_get_its_core() -> None:
    # uvicorn got a third of its core for its read run, the baseline all of it: in req/s it looks
    # slower, per CPU-second it is twice as fast.
    measured = {
        "uvicorn": Measured(_run(6000), _run(1000), _run(200), {"bare": 100, "read": 33.3, "write": 50}),
        "baseline": Measured(None, _run(1500), _run(100), {"bare": 0, "read": 100, "write": 100}),
    }
    by_rps = {what.split(" on")[0]: ok for what, ok, _ in Bench._checks(measured, per_cpu=False)}
    by_cpu = {what.split(" on")[0]: ok for what, ok, _ in Bench._checks(measured, per_cpu=True)}
    assert by_rps == {"read path": False, "read": False, "write": True}
    assert by_cpu == {"read path": True, "read": True, "write": True}


def test_the_median_round_decides_each_figure_with_that_rounds_cpu_share() -> None:
    rounds = [
        Measured(_run(9000), _run(3000), _run(300), {"bare": 97, "read": 90, "write": 60}),
        Measured(_run(8000), _run(3900), _run(460), {"bare": 95, "read": 92, "write": 70}),
        Measured(_run(9500), _run(2500), _run(420), {"bare": 98, "read": 80, "write": 65}),
    ]
    median = median_of(rounds)
    assert median.bare is not None and median.bare.rps == 9000
    assert (median.read.rps, median.write.rps) == (3000, 420), "each run's median is taken on its own"
    assert median.cpu == {"bare": 97, "read": 90, "write": 65}, "the CPU share of the round picked"


def test_one_round_is_its_own_median() -> None:
    only = Measured(None, _run(1500), _run(100), {"bare": 0, "read": 100, "write": 100})
    assert median_of([only]) == only


def _named(label: str, bare: float | None, read: float, write: float, carried: float) -> Measured:
    runs = ("read", "write") if bare is None else ("bare", "read", "write")
    return Measured(
        None if bare is None else _run(bare),
        _run(read),
        _run(write),
        {"bare": 90, "read": 80, "write": 70},
        carried,
        carried * 10,
        {run: f"{label}-{run}" for run in runs},
    )


def test_a_round_measured_again_keeps_each_runs_figure_from_the_measurement_the_host_slowed_less() -> None:
    first = _named("uvicorn.2", 7100, 2700, 478, carried=18)
    again = _named("uvicorn.2.again", 7500, 2600, 422, carried=16)
    slowdown = {"uvicorn.2-bare": 1.47, "uvicorn.2-read": 1.12, "uvicorn.2-write": 1.02}
    slowdown |= {"uvicorn.2.again-bare": 1.03, "uvicorn.2.again-read": 1.12, "uvicorn.2.again-write": 1.20}
    picked = least_slowed([first, again], slowdown.__getitem__)
    assert picked.bare is not None and picked.bare.rps == 7500, "the slowed bare run is replaced"
    assert picked.write.rps == 478, "a write run the host left alone keeps its figure, though lower later"
    assert picked.read.rps == 2700, "on a tie the earlier measurement stays"
    assert (picked.carried, picked.drained) == (18, 180), "the worker's figures come with their write run"
    assert picked.names == {
        "bare": "uvicorn.2.again-bare",
        "read": "uvicorn.2-read",
        "write": "uvicorn.2-write",
    }


def test_the_pick_follows_the_hosts_pace_not_the_higher_figure() -> None:
    # The baseline has no bare run; its write measured faster the first time, while the host slowed it.
    first = _named("baseline.1", None, 1500, 330, carried=3)
    again = _named("baseline.1.again", None, 1400, 300, carried=2)
    slowdown = {"baseline.1-read": 1.0, "baseline.1-write": 1.6}
    slowdown |= {"baseline.1.again-read": 1.4, "baseline.1.again-write": 1.1}
    picked = least_slowed([first, again], slowdown.__getitem__)
    assert picked.bare is None and "bare" not in picked.names
    assert (picked.read.rps, picked.write.rps) == (1500, 300)


@pytest.mark.parametrize("rounds", [0, 2, -1])
def test_an_even_or_empty_number_of_rounds_is_refused_before_anything_starts(
    rounds: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_benchmark(1, 1, 0, servers=["uvicorn"], rounds=rounds) == 2
    assert "--rounds: expected an odd number >= 1" in capsys.readouterr().err


def _page(accepted: int, queued: dict[str, int]) -> str:
    """A /metrics page with the service's names for its payout requests and its queue (shared/API.md)."""
    registry = CollectorRegistry()
    requests = Counter("http_requests", "", ["method", "route", "status"], registry=registry)
    requests.labels("POST", "/api/v1/payouts/initiate", "202").inc(accepted)
    requests.labels("POST", "/api/v1/payouts/initiate", "409").inc(7)  # refused: not queued
    requests.labels("GET", "/api/v1/payouts/{payout_id}", "200").inc(500)
    depth = Gauge("tron_payout_queue_depth", "", ["priority"], registry=registry)
    for priority, count in queued.items():
        depth.labels(priority).set(count)
    return generate_latest(registry).decode()


def test_the_worker_took_what_the_replica_accepted_less_what_its_queue_grew_by() -> None:
    before = PayoutQueue.from_page(_page(8, {"normal": 0, "high": 0}), at=100.0)
    after = PayoutQueue.from_page(_page(2008, {"normal": 1700, "high": 180}), at=112.0)
    assert (after.accepted - before.accepted, after.depth) == (2000, 1880), "202s only; every priority"
    assert (after.taken_since(before), after.taken_per_second(before)) == (120, 10.0)
    drained = PayoutQueue.from_page(_page(2008, {"normal": 1500, "high": 100}), at=120.0)
    assert drained.taken_since(after) == 280, "nothing accepted meanwhile: all it took came off the queue"
    assert drained.taken_per_second(after) == 35.0
