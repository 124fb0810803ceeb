"""A Locust file for the precision test: users with no think time against the scripted upstream, recorded
by the harness's recorder (as every load run is) and also sample by sample, the exact reference."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from loadtests import recorder
from loadtests.profiles import get

SAMPLES: list[float] = []


class Prober(FastHttpUser):
    wait_time = constant(0)

    @task
    def status(self) -> None:
        self.client.get("/api/v1/tron/network/status", name="GET /api/v1/tron/network/status")


@events.request.add_listener
def _sample(response_time: float, exception: BaseException | None, **_: Any) -> None:
    if exception is None:
        SAMPLES.append(response_time)


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    recorder.start(environment, get("smoke", duration=float(os.environ["PRECISION_SECONDS"])))


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    recorder.finish(environment)
    Path(os.environ["PRECISION_SAMPLES"]).write_text(json.dumps(SAMPLES))
