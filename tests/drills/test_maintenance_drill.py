"""The maintenance drill on a local stack of its own: the seed's scale-to-0 procedure shows the outage
it causes (failed requests, an RTO), the rolling one fails no request; and the drill turns red when
the rolling procedure does fail requests (pods killed mid-way instead of drained)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.runner import exit_code
from harness.clients.pods import Pods
from harness.target import StackState
from tests.drills.runs import drill, drill_stack, verdicts


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with drill_stack(tmp_path_factory.mktemp("maintenance-stack")) as run_dir:
        yield run_dir


def test_the_seeds_way_shows_its_outage_and_ours_fails_no_request(stack_dir: Path) -> None:
    result = drill(stack_dir, "maintenance")
    found = verdicts(result)
    assert not [s.error for s in result.timeline.steps if s.error]
    assert result.figures["failed_seed"] >= 1  # scaled to 0: the mesh has nowhere to send them
    assert found["RTO"]["outcome"] == "pass" and 0 < float(found["RTO"]["measured"]) <= 60  # type: ignore[arg-type]
    assert result.figures["failed_rolling"] == 0, found
    assert result.outcome == "PASS" and exit_code([result]) == 0
    assert len(Pods(StackState.read(stack_dir).url("pods")).ready()) == 3  # left as found


def test_a_rolling_procedure_that_kills_instead_of_draining_is_red(
    stack_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killing(self: Pods, name: str) -> dict[str, object]:
        # A rollout that kills instead of draining, every pod at once, so that requests fail for sure:
        # killing only the old pod fails just the writes the mesh sends it before its next endpoint
        # poll (0.5 s), none in some runs (a write every 200 ms, a quarter of them to that pod).
        # Only the running ones: a pod the last kill left restarting is listed, but cannot be killed.
        proofs = self.kill(count=len([pod for pod in self.pods() if pod["phase"] == "Running"]))
        self.scale(len(self.pods()) - 1)
        proof = next((p for p in proofs if p["name"] == name), proofs[0])
        return {**proof, "waited_seconds": 0.0, "escalated_to_sigkill": False}

    monkeypatch.setattr(Pods, "delete", killing)
    result = drill(stack_dir, "maintenance")
    rolling = verdicts(result)["rolling procedure: failed requests"]
    assert rolling["outcome"] == "fail" and float(rolling["measured"]) >= 1, rolling  # type: ignore[arg-type]
    assert result.outcome == "FAIL" and exit_code([result]) == 1
