"""The in-process worker world of tests/unit (its own database, the audit at teardown) for the test
that puts the double-signing bug back."""

from tests.unit.conftest import world

__all__ = ["world"]
