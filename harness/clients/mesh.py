"""The mesh's admin API (stack/mesh/admin.py): routes, and Istio HTTPFaultInjection per route, live."""

from __future__ import annotations

from typing import Any

from harness.clients.http import JsonClient


class MeshAdmin(JsonClient):
    surface = "mesh admin"

    def routes(self) -> list[dict[str, Any]]:
        """Every route: name, match, timeout, retries, fault."""
        return list(self.call("GET", "/routes")["routes"])

    def ejected(self) -> set[str]:
        """The endpoints outlier detection has ejected: the mesh sends them nothing until it ends."""
        return {e["name"] for e in self.call("GET", "/endpoints")["endpoints"] if e["ejected"]}

    def faults(self) -> dict[str, Any]:
        """Route name -> its active fault."""
        return dict(self.call("GET", "/faults")["active_faults"])

    def set_fault(self, route: str, fault: dict[str, Any]) -> dict[str, Any]:
        """Put `fault` (an HTTPFaultInjection: abort and/or delay) on `route`; every active fault after."""
        return dict(self.call("PUT", f"/routes/{route}/fault", fault)["active_faults"])

    def clear_fault(self, route: str) -> dict[str, Any]:
        return dict(self.call("DELETE", f"/routes/{route}/fault")["active_faults"])

    def reset(self) -> dict[str, Any]:
        """Remove every fault; the faults still active (none, unless the mesh misbehaves)."""
        return dict(self.call("POST", "/faults/reset")["active_faults"])
