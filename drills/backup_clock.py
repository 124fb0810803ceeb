"""When the scheduled backups are taken, as the data-loss drills wait for the worst point of the interval
(just before the next backup) and for backups to resume after recovery. Locally the backup agent says
it (its status file); on a cluster no agent answers, so the backups at the target's location say it:
the newest archive's stamp, and the interval between the newest ones (the CronJob in deploy/ states
the schedule the interval is checked against)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from drills.agent import read_status
from drills.locations import ARCHIVE_SUFFIX, PREFIX, Location, archives, manifest_name


class BackupClock(Protocol):
    def newest(self) -> dict[str, Any] | None:
        """The newest complete backup: {"archive", "started_at", "finished_at"} (epoch seconds)."""
        ...

    def next_due(self) -> float:
        """When the next scheduled backup starts (epoch seconds)."""
        ...


@dataclass(frozen=True)
class AgentClock:
    """The local stack's backup agent (drills/agent.py) and its status file."""

    status_file: Path

    def newest(self) -> dict[str, Any] | None:
        found = read_status(self.status_file)["last_success"]
        return dict(found) if found else None

    def next_due(self) -> float:
        return float(read_status(self.status_file)["next_run_at"])


def archive_time(name: str) -> float:
    """The stamp in a backup's name (`tron-payment-20261130T164500.123Z.archive.gz`), epoch seconds."""
    stamp = name[len(PREFIX) : -len(ARCHIVE_SUFFIX)].rstrip("Z")
    layout = "%Y%m%dT%H%M%S.%f" if "." in stamp else "%Y%m%dT%H%M%S"
    return datetime.strptime(stamp, layout).replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class ShippedBackups:
    """The backups at a location, as a cluster's CronJob leaves them. Only complete backups count (a
    manifest beside the archive: written last). A backup's stamp is taken when its dump ends, so the
    operations it may lack start no later than the previous backup's stamp: that is `started_at`."""

    location: Location

    def _complete(self) -> list[str]:
        names = set(self.location.names())
        return [a for a in archives(self.location) if manifest_name(a) in names]

    def interval(self) -> float:
        """The gap between the two newest complete backups; ValueError with fewer than two."""
        complete = self._complete()
        if len(complete) < 2:
            raise ValueError(
                f"{self.location.url}: {len(complete)} complete backup(s); two give the interval"
            )
        return archive_time(complete[-1]) - archive_time(complete[-2])

    def newest(self) -> dict[str, Any] | None:
        complete = self._complete()
        if not complete:
            return None
        stamp = archive_time(complete[-1])
        before = archive_time(complete[-2]) if len(complete) > 1 else stamp
        return {"archive": complete[-1], "started_at": before, "finished_at": stamp}

    def next_due(self) -> float:
        newest = self.newest()
        if newest is None:
            raise ValueError(f"{self.location.url}: no complete backup")
        return float(newest["finished_at"]) + self.interval()
