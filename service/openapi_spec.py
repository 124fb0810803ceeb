"""The OpenAPI 3 document (placeholder until the full document lands)."""

from __future__ import annotations

from typing import Any

from service import VERSION


def build_spec() -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "TRON payment API", "version": VERSION}, "paths": {}}
