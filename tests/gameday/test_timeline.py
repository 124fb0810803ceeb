"""How the timeline reads a day's files: fault windows from Chaos Toolkit journals, alert episodes
from the receiver's records, and the schema refusing what the report could not draw."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gameday import timeline
from harness import objectives


def _run(name: str, func: str, start: str, end: str, kind: str = "action") -> dict[str, Any]:
    activity = {"type": kind, "name": name, "provider": {"type": "python", "func": func}}
    return {"activity": activity, "start": start, "end": end, "status": "succeeded"}


def test_a_fault_window_runs_from_its_action_to_the_removal_that_proved_it_gone(tmp_path: Path) -> None:
    journal = {
        "run": [
            _run("start-payers", "start_payers", "2026-11-30T12:00:00", "2026-11-30T12:00:01"),
            _run("abort-payouts", "abort_routes", "2026-11-30T12:00:01.5", "2026-11-30T12:00:02"),
            _run("hold-it", "hold", "2026-11-30T12:00:02", "2026-11-30T12:00:22"),
            _run("remove-the-abort", "remove_faults", "2026-11-30T12:00:22", "2026-11-30T12:00:22.25"),
            _run("alerts", "alerts_judged", "2026-11-30T12:00:22", "2026-11-30T12:00:30", kind="probe"),
            _run("kill-a-pod", "kill_pods", "2026-11-30T12:00:30", "2026-11-30T12:00:31"),
        ],
        "rollbacks": [
            _run("remove-every-fault", "remove_faults", "2026-11-30T12:00:40", "2026-11-30T12:00:41+00:00")
        ],
    }
    (tmp_path / "01-x").mkdir()
    (tmp_path / "01-x" / "journal.json").write_text(json.dumps(journal))
    assert timeline.fault_windows(tmp_path) == [
        {"name": "abort-payouts", "experiment": "01-x",
         "started_at": "2026-11-30T12:00:01.500000Z", "ended_at": "2026-11-30T12:00:22.250000Z"},
        {"name": "kill-a-pod", "experiment": "01-x",
         "started_at": "2026-11-30T12:00:30Z", "ended_at": "2026-11-30T12:00:41Z"},
    ]  # fmt: skip


def test_alert_episodes_pair_firing_with_resolving_and_ignore_repeats() -> None:
    def record(name: str, status: str, at: float) -> dict[str, Any]:
        return {"alertname": name, "status": status, "received_at": at, "labels": {"severity": "page"}}

    records = [
        record("MeshErrors", "firing", 100.0),
        record("MeshErrors", "firing", 105.0),  # Alertmanager's re-send within the same episode
        record("ServiceDown", "firing", 110.0),
        record("MeshErrors", "resolved", 130.0),
        record("MeshErrors", "firing", 200.0),
    ]
    episodes = timeline.alert_events(records)
    assert [(e["alertname"], e["fired_at"], e["resolved_at"]) for e in episodes] == [
        ("MeshErrors", "1970-01-01T00:01:40Z", "1970-01-01T00:02:10Z"),
        ("ServiceDown", "1970-01-01T00:01:50Z", None),
        ("MeshErrors", "1970-01-01T00:03:20Z", None),
    ]
    assert {e["severity"] for e in episodes} == {"page"}


@pytest.mark.parametrize("through_mesh", [True, False], ids=["mesh", "service"])
def test_the_series_cover_the_whole_service_and_every_route_group_of_the_slo_file(through_mesh: bool) -> None:
    found = timeline.queries("10s", through_mesh)
    groups = {labels.get("route_group") for _, labels, _ in found}
    assert groups == {None, *objectives.current().route_groups}
    assert {name for name, _, _ in found} == {"requests_per_second", "error_ratio", "p95_seconds"}
    assert all("[10s]" in query for _, _, query in found)
    metric = "istio_requests_total" if through_mesh else "http_requests_total"
    assert all(metric in query for name, _, query in found if name != "p95_seconds")


def test_through_the_mesh_a_route_group_is_its_two_virtual_service_routes_and_p95_is_in_seconds() -> None:
    payouts = {
        name: query
        for name, labels, query in timeline.queries("10s", True)
        if labels == {"route_group": "payouts"}
    }
    assert 'route_name=~"payouts(-retryable)?"' in payouts["error_ratio"]
    assert payouts["p95_seconds"].endswith("/ 1000")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["series"].append({"name": "p99", "labels": {}, "points": []}), "series/0/name"),
        (
            lambda d: d["faults"].append({"name": "x", "started_at": "yesterday", "ended_at": "now"}),
            "faults/0",
        ),
        (lambda d: d.pop("alerts"), "'alerts' is a required property"),
    ],
)
def test_the_schema_refuses_a_timeline_the_report_could_not_draw(
    change: Any, says: str, tmp_path: Path
) -> None:
    document = {
        "started_at": "2026-11-30T12:00:00Z", "ended_at": "2026-11-30T12:05:00Z", "step_seconds": 2,
        "series": [], "phases": [], "faults": [], "alerts": [],
    }  # fmt: skip
    timeline.write(document, tmp_path / "good.json")
    change(document)
    with pytest.raises(timeline.TimelineError, match=says):
        timeline.write(document, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()
