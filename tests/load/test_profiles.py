"""The profiles: one stage table each, scaled in users and time; bad input named."""

from __future__ import annotations

import pytest

from loadtests.profiles import ProfileError, get, profiles


def test_the_issue_s_profiles_are_all_there() -> None:
    assert set(profiles()) == {"smoke", "average", "spike", "soak", "stress", "release"}
    assert get("smoke").seconds == 60
    assert get("soak").memory_gate and get("stress").judge_each_stage


def test_scale_multiplies_users_and_duration_stretches_the_stages() -> None:
    smoke = get("smoke", scale=2.0, duration=30.0)
    assert smoke.seconds == pytest.approx(30.0)
    assert [s.users for s in smoke.stages] == [2 * s.users for s in get("smoke").stages]
    assert smoke.at(0.0) == (0, smoke.stages[0]) and smoke.at(29.9) == (1, smoke.stages[1])
    assert smoke.at(30.0) is None  # the shape ends the run


@pytest.mark.parametrize(
    ("name", "scale", "duration", "says"),
    [
        ("nope", 1.0, None, "unknown profile 'nope': choose one of smoke, average"),
        ("smoke", -1.0, None, "--scale must be a positive number"),
        ("smoke", 1.0, 0.0, "--duration must be a positive number"),
    ],
)
def test_bad_input_names_what_to_fix(name: str, scale: float, duration: float | None, says: str) -> None:
    with pytest.raises(ProfileError, match=says.replace("(", r"\(")):
        get(name, scale, duration)
