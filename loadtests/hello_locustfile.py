"""The generator benchmark's Locust side: users with no think time GETting the bare hello-world, so
the figure is Locust's own ceiling (FastHttpUser), not the service's."""

from __future__ import annotations

from locust import FastHttpUser, constant, task


class Hello(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/", name="GET /")
