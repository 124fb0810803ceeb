"""The TRON devnet's control API (stack/devnet/control_api.py): facts, faucet, faults; and its node API."""

from __future__ import annotations

from typing import Any

from harness.clients.http import JsonClient, metric_sum


class Devnet(JsonClient):
    surface = "devnet"

    def info(self) -> dict[str, Any]:
        return dict(self.call("GET", "/control/info"))

    def fund(self, address: str, amount: int, currency: str = "TRX") -> str:
        """Send `amount` base units from the treasury and wait for its block; the transaction id."""
        body = {"address": address, "amount": amount, "currency": currency, "wait": True}
        return str(self.call("POST", "/control/faucet", body)["txid"])

    def control(self, fault: str, body: dict[str, Any]) -> dict[str, Any]:
        """One of the fixed fault endpoints (down, latency, stall, reset-faults); the faults after."""
        return dict(self.call("POST", f"/control/{fault}", body))

    def reset(self) -> dict[str, Any]:
        return self.control("reset-faults", {})

    def set_fault(self, name: str, ttl_s: float, **params: Any) -> dict[str, Any]:
        """A fault by name with a time to live, through the generic `POST /control/faults`."""
        return dict(self.call("POST", "/control/faults", {"fault": name, "ttl_s": ttl_s, **params}))

    def clear_fault(self, name: str) -> dict[str, Any]:
        return dict(self.call("DELETE", f"/control/faults/{name}"))

    def requests_to(self, path: str) -> int:
        """How many requests the node has answered on `path` ("/wallet/getnowblock"), any status."""
        return self._metric("tron_devnet_requests_total", path=path)

    def broadcasts_taken(self) -> int:
        """How many broadcasts the node has taken (answered SUCCESS, or took and lost the answer)."""
        return self._metric("tron_devnet_broadcasts_total", code="SUCCESS")

    def _metric(self, name: str, **labels: str) -> int:
        page = self.http.get("/metrics")
        page.raise_for_status()
        return int(metric_sum(page.text, name, **labels))

    def node(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """A full-node HTTP API call ("wallet/getnowblock", ...), addresses in base58."""
        return dict(self.call("POST", f"/{method}", {**body, "visible": True}))
