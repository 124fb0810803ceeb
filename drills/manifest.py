"""A backup's manifest: which service and database it holds, per collection a count and a content hash,
and the archive's own SHA-256. A restore is judged against it the way a restore test compares `dbHash`
on both sides: by what the restored database holds, not by the tool having said "completed".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_VERSION = 1


class ManifestError(ValueError):
    """A manifest that cannot be read, or that belongs to something else; one line, what is wrong."""


@dataclass(frozen=True)
class CollectionDigest:
    count: int
    sha256: str  # over the documents' own SHA-256s, sorted: independent of the order a store returns them


@dataclass(frozen=True)
class Manifest:
    service: str  # the deployment's app name (harness/objectives.yaml identity.app)
    database: str
    taken_at: str  # UTC, ISO 8601
    archive: str  # the archive's file name beside this manifest
    archive_sha256: str
    collections: dict[str, CollectionDigest] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"version": MANIFEST_VERSION} | asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Manifest:
        try:
            raw: dict[str, Any] = json.loads(text)
            if raw.get("version") != MANIFEST_VERSION:
                raise ManifestError(f"{source}: manifest version {raw.get('version')!r}, expected 1")
            collections = {name: CollectionDigest(**d) for name, d in raw["collections"].items()}
            return cls(
                service=raw["service"],
                database=raw["database"],
                taken_at=raw["taken_at"],
                archive=raw["archive"],
                archive_sha256=raw["archive_sha256"],
                collections=collections,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            if isinstance(error, ManifestError):
                raise
            raise ManifestError(f"{source}: not a backup manifest ({error!r})") from error


def digest(raw_documents: list[bytes]) -> CollectionDigest:
    each = sorted(hashlib.sha256(doc).digest() for doc in raw_documents)
    return CollectionDigest(len(each), hashlib.sha256(b"".join(each)).hexdigest())


def differences(expected: dict[str, CollectionDigest], found: dict[str, CollectionDigest]) -> list[str]:
    """What a restored database lacks or holds otherwise, one phrase per collection; empty when equal."""
    problems = []
    for name in sorted(set(expected) | set(found)):
        want, got = expected.get(name), found.get(name)
        if got is None:
            problems.append(f"{name}: missing after restore")
        elif want is None:
            problems.append(f"{name}: not in the backup but present after restore")
        elif want.count != got.count:
            problems.append(f"{name}: {got.count} documents restored, the backup holds {want.count}")
        elif want.sha256 != got.sha256:
            problems.append(f"{name}: same count ({got.count}) but different content")
    return problems
