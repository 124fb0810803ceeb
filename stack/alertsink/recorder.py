"""Keeps every alert notification Alertmanager sends, with when it arrived."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any


class AlertRecorder:
    """Append-only: every notification is one record per alert, also written to a JSON-lines file."""

    def __init__(self, journal: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._journal = journal

    def record(self, notification: dict[str, Any]) -> int:
        """Store each alert of an Alertmanager webhook payload (version 4); returns how many."""
        alerts = notification.get("alerts")
        if not isinstance(alerts, list):
            raise ValueError("not an Alertmanager webhook payload: `alerts` must be a list")
        received = time.time()
        rows = [
            {
                "received_at": received,
                "receiver": notification.get("receiver"),
                "status": alert.get("status"),
                "alertname": alert.get("labels", {}).get("alertname"),
                "labels": alert.get("labels", {}),
                "annotations": alert.get("annotations", {}),
                "starts_at": alert.get("startsAt"),
                "ends_at": alert.get("endsAt"),
                "fingerprint": alert.get("fingerprint"),
            }
            for alert in alerts
        ]
        with self._lock:
            self._records.extend(rows)
            if self._journal is not None:
                with self._journal.open("a") as out:
                    out.writelines(json.dumps(row) + "\n" for row in rows)
        return len(rows)

    def query(
        self, alertname: str | None = None, status: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            return [
                r
                for r in self._records
                if (alertname is None or r["alertname"] == alertname)
                and (status is None or r["status"] == status)
                and (since is None or r["received_at"] >= since)
            ]

    def clear(self) -> int:
        with self._lock:
            count = len(self._records)
            self._records.clear()
            return count
