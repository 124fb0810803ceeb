"""The committed dashboard JSON, as the tests read it (each test gets its own copy to break)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dashboards.build import OUTPUT


@pytest.fixture
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(OUTPUT.read_text())
    return loaded
