"""Failing a check with one readable line: what was asked, what came back, and why."""

from __future__ import annotations

import re
from typing import Any, NoReturn

import httpx
import pytest

from smoke.contract import ERROR_CODE, ERROR_FIELDS

MAX_LINE = 300


def one_line(text: str, limit: int = MAX_LINE) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def fail(message: str) -> NoReturn:
    # pytrace=False: the report is the message alone, so CI logs show one line per failing check.
    pytest.fail(one_line(message), pytrace=False)


def label(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.raw_path.decode()}"


def _down_components(components: dict[str, Any]) -> list[str]:
    return [
        f"{name}: {part.get('status')} — {part.get('error', 'no error given')}"
        for name, part in components.items()
        if isinstance(part, dict) and part.get("status") != "up"
    ]


def reason(response: httpx.Response) -> str:
    """Why the service says it answered as it did: its error, its down components, or its body."""
    try:
        body = response.json()
    except ValueError:
        return one_line(response.text, 120) or "empty body"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return f"{error.get('code')}: {error.get('message')}"
        components = body.get("components")
        down = _down_components(components) if isinstance(components, dict) else []
        if down:
            return "; ".join(down)
        if body.get("reason"):
            return str(body["reason"])
    return one_line(response.text, 120)


def status(response: httpx.Response, expected: int) -> None:
    if response.status_code == expected:
        return
    hint = ""
    if response.status_code == 401 and "Authorization" in response.request.headers:
        hint = " — the smoke token was rejected: is it (or JWT_SECRET) the one for this deployment?"
    fail(f"{label(response)} answered {response.status_code}, expected {expected} ({reason(response)}){hint}")


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        fail(f"{label(response)} answered {response.status_code} with a body that is not JSON")
    if not isinstance(body, dict):
        fail(f"{label(response)} answered {response.status_code} with JSON that is not an object")
    return body


def error_format(response: httpx.Response) -> dict[str, Any]:
    """The contract's error object, whose request_id is the response's X-Request-ID."""
    error = json_object(response).get("error")
    if not isinstance(error, dict):
        fail(f"{label(response)} answered {response.status_code} without an `error` object")
    missing = [name for name in ERROR_FIELDS if name not in error]
    if missing:
        fail(f"{label(response)}: the error object lacks {', '.join(missing)}")
    if not re.match(ERROR_CODE, str(error["code"])):
        fail(f"{label(response)}: error code {error['code']!r} is not LUCID_ERR_NNNN")
    if error["request_id"] != response.headers.get("X-Request-ID"):
        fail(f"{label(response)}: error.request_id differs from the X-Request-ID header")
    return error
