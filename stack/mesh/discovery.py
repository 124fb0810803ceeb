"""Where the endpoints come from: the pod supervisor's list of READY pods, polled like EDS."""

from __future__ import annotations

import asyncio
import logging

import httpx

from stack.mesh.endpoints import EndpointSet

log = logging.getLogger("stack.mesh")

POLL_SECONDS = 0.5
FETCH_TIMEOUT_SECONDS = 2.0


def parse_endpoint_list(document: object) -> list[tuple[str, str]]:
    """[{"name": ..., "url": "http://127.0.0.1:PORT"}, ...] as (name, url) pairs; ValueError if not."""
    if not isinstance(document, list):
        raise ValueError(f"expected a JSON list of {{name, url}} objects, got {type(document).__name__}")
    entries = []
    for item in document:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("url"), str)
        ):
            raise ValueError(f"each endpoint needs a string name and url, got {item!r}")
        entries.append((item["name"], item["url"]))
    return entries


class EndpointPoller:
    def __init__(self, url: str, endpoints: EndpointSet) -> None:
        self.url = url
        self.endpoints = endpoints
        self._failing = False

    async def run(self, client: httpx.AsyncClient) -> None:
        """Poll for ever (after the first poll, which startup makes itself)."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            await self.poll_once(client)

    async def poll_once(self, client: httpx.AsyncClient) -> None:
        """Fetch the list and apply it; on failure keep the last list (as Envoy keeps its last EDS)."""
        try:
            response = await client.get(self.url, timeout=FETCH_TIMEOUT_SECONDS)
            response.raise_for_status()
            self.endpoints.replace(parse_endpoint_list(response.json()))
        except (httpx.HTTPError, ValueError) as exc:
            if not self._failing:
                log.warning("endpoints: cannot read %s (%s); keeping the last list", self.url, exc)
            self._failing = True
            return
        if self._failing:
            log.info("endpoints: %s readable again", self.url)
        self._failing = False
