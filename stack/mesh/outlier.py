"""Outlier detection as Envoy does it for Istio's consecutive5xxErrors.

Every upstream result counts: a 5xx answer, and (errors not split by origin, Istio's default) a connect
failure as 503 and a timeout or reset as 504; anything else resets the streak. The streak reaching the
threshold ejects the endpoint at once for min(baseEjectionTime x multiplier, max ejection time), unless
that would put more than maxEjectionPercent of the endpoints out (Envoy: (ejected + 1) / all). The
multiplier grows by one per ejection and shrinks by one per interval spent healthy. Ejections end at the
sweep that runs every `interval`, so one lasts between its duration and its duration plus an interval.
"""

from __future__ import annotations

import asyncio
import logging

from stack.mesh.endpoints import Endpoint, EndpointSet
from stack.mesh.policies import OutlierPolicy

log = logging.getLogger("stack.mesh")


class OutlierDetector:
    def __init__(self, policy: OutlierPolicy | None, endpoints: EndpointSet) -> None:
        self.threshold = policy.consecutive_5xx if policy is not None else 0
        self.policy = policy
        self.endpoints = endpoints

    def record(self, endpoint: Endpoint, status: int, now: float) -> None:
        if not self.threshold:
            return
        if status < 500:
            endpoint.consecutive_5xx = 0
            return
        endpoint.consecutive_5xx += 1
        if endpoint.consecutive_5xx >= self.threshold and not endpoint.ejected:
            self._eject(endpoint, now)

    def _eject(self, endpoint: Endpoint, now: float) -> None:
        policy = self.policy
        assert policy is not None
        members = self.endpoints.endpoints
        if endpoint not in members:
            return  # it left while its request was in flight
        ejected = sum(ep.ejected for ep in members)
        share = 100.0 * (ejected + 1) / len(members)
        if share > policy.max_ejection_percent:
            endpoint.consecutive_5xx = 0  # Envoy resets the streak whether or not it ejects
            log.warning(
                "outlier: %s not ejected after %d consecutive 5xx: %.0f%% of endpoints would be out, "
                "maxEjectionPercent is %d",
                endpoint.name,
                self.threshold,
                share,
                policy.max_ejection_percent,
            )
            return
        if (
            endpoint.backoff * policy.base_ejection_time
            < policy.max_ejection_time + policy.base_ejection_time
        ):
            endpoint.backoff += 1
        duration = min(policy.base_ejection_time * endpoint.backoff, policy.max_ejection_time)
        endpoint.eject(now, duration)
        log.warning(
            "outlier: ejected %s after %d consecutive 5xx for %.1f s (ejection #%d)",
            endpoint.name,
            self.threshold,
            duration,
            endpoint.ejections,
        )
        self.endpoints.refresh()

    def sweep(self, now: float) -> None:
        policy = self.policy
        assert policy is not None
        changed = False
        for endpoint in self.endpoints.endpoints:
            if endpoint.ejected_at is not None:
                if now - endpoint.ejected_at >= endpoint.ejected_for:
                    endpoint.uneject(now)
                    changed = True
                    log.info("outlier: %s back in the pool after %.1f s", endpoint.name, endpoint.ejected_for)
            elif (
                endpoint.backoff
                and endpoint.unejected_at is not None
                and now - endpoint.unejected_at >= policy.interval
            ):
                endpoint.backoff -= 1
        if changed:
            self.endpoints.refresh()

    async def run(self) -> None:
        """The interval timer; returns at once when outlier detection is off."""
        if self.policy is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.policy.interval)
            self.sweep(loop.time())
