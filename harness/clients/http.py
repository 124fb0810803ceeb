"""What every control client shares: a JSON HTTP session on one base URL, and one named error."""

from __future__ import annotations

from typing import Any, Self

import httpx
from prometheus_client.parser import text_string_to_metric_families


class ControlError(RuntimeError):
    """A control surface refused or failed a request; the message says which, what, and its answer."""

    def __init__(self, surface: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{surface}: {message}")
        self.surface = surface
        self.status = status


class JsonClient:
    """A base URL spoken to in JSON; `call` returns the decoded body of an expected status, else raises."""

    surface = "control API"

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=timeout)

    def call(
        self, method: str, path: str, json: Any = None, ok: tuple[int, ...] = (200,), **kwargs: Any
    ) -> Any:
        try:
            response = self.http.request(method, path, json=json, **kwargs)
        except httpx.HTTPError as error:
            raise ControlError(self.surface, f"{method} {self.url}{path}: {error!r}") from error
        if response.status_code not in ok:
            raise ControlError(
                self.surface,
                f"{method} {self.url}{path} answered {response.status_code}: {response.text[:500]}",
                response.status_code,
            )
        try:
            return response.json() if response.content else None
        except ValueError:
            raise ControlError(
                self.surface, f"{method} {self.url}{path}: not JSON: {response.text[:200]}"
            ) from None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of the samples named `name` with these labels in a /metrics page."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )
