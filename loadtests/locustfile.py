"""The release load test, for Locust: the API clients (loadtests/journeys.py) and the profile's stages.

`tronops load run PROFILE` runs this file (a lone process, or a master and `--workers N`) and judges
the results. It also runs as it is, for people who know Locust:

    TRONOPS_LOAD_PROFILE=smoke locust -f loadtests/locustfile.py --headless -H http://127.0.0.1:8085

and then prints the same gates at the end and exits 1 when one fails (TRONOPS_LOAD_DEVNET_URL makes it
move money with faucet-funded test data; loadtests/settings.py lists every setting).
"""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape, events
from locust.env import Environment

from loadtests import recorder
from loadtests.journeys import ApiClient
from loadtests.profiles import get

__all__ = ["ApiClient", "ProfileShape"]

SETTINGS = recorder.RECORDER.settings
PROFILE = get(SETTINGS.profile, SETTINGS.scale, SETTINGS.duration)


class ProfileShape(LoadTestShape):
    """The stage table of the chosen profile (loadtests/profiles.yaml), scaled."""

    def tick(self) -> tuple[int, float] | None:
        if recorder.RECORDER.stop_stepping:
            return None  # stress: a stage broke a gate, the knee is found
        if SETTINGS.stop_file is not None and SETTINGS.stop_file.exists():
            return None  # asked to end now (the experiment it ran beside is over)
        stage = PROFILE.at(self.get_run_time())
        return None if stage is None else (stage[1].users, stage[1].spawn_rate)


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    recorder.start(environment, PROFILE)


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    recorder.finish(environment)
    if SETTINGS.results is None and recorder.RECORDER.started:  # plain `locust -f`: judge it here
        from loadtests.verdict import verdict_of_results

        if verdict_of_results(recorder.RECORDER.results()) != "pass":
            environment.process_exit_code = 1
