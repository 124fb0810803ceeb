"""/openapi.json: the service's machine-readable contract."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from service.openapi_spec import build_spec

bp = Blueprint("openapi", __name__)
_SPEC = build_spec()


@bp.get("/openapi.json")
async def document() -> dict[str, Any]:
    return _SPEC
