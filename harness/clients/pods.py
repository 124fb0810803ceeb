"""The local pod supervisor's API (stack/pods/api.py): list pods, kill them with proof of death."""

from __future__ import annotations

from typing import Any

from harness.clients.http import JsonClient


class Pods(JsonClient):
    surface = "pods"

    def pods(self) -> list[dict[str, Any]]:
        """Every pod: name, url, pid, phase, ready, restarts, started_at."""
        return list(self.call("GET", "/pods"))

    def ready(self) -> list[dict[str, Any]]:
        """The ready pods only, as a mesh routes to them: [{"name", "url"}]."""
        return list(self.call("GET", "/endpoints"))

    def kill(
        self, names: list[str] | None = None, *, count: int | None = None, signal: str = "KILL"
    ) -> list[dict[str, Any]]:
        """Kill the named pods (or `count` of them); one proof per pod ({"name", "pid", "gone", ...}).
        A pod not gone by the supervisor's deadline is a ControlError (it answers 500)."""
        body: dict[str, Any] = {"signal": signal}
        body |= {"names": names} if names is not None else {"count": count if count is not None else 1}
        return list(self.call("POST", "/pods/kill", body)["killed"])

    def scale(self, replicas: int) -> list[dict[str, Any]]:
        """`kubectl scale deployment --replicas=N` on the local pods; every pod after it."""
        return list(self.call("POST", "/scale", {"replicas": replicas})["pods"])

    def delete(self, name: str) -> dict[str, Any]:
        """`kubectl delete pod NAME`: drained (out of the endpoints, preStop, TERM), not restarted; its proof.
        A pod not gone by the end of its grace period is a ControlError (the supervisor answers 500)."""
        return dict(self.call("POST", f"/pods/{name}/delete")["deleted"][0])
