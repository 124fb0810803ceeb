"""Take, restore and verify a logical backup of the service's database through pymongo, in mongodump's
gzip'd archive format (drills/archive.py) with a manifest (drills/manifest.py).

The equivalents in mongo-tools: `take` is `mongodump --db=DB --gzip --archive`, `restore` is
`mongorestore --gzip --archive --nsInclude='DB.*' --drop` (indexes from each collection's metadata),
and `verify` restores into a scratch database and compares counts and content hashes with the manifest,
as a restore test compares `dbHash`, then drops the scratch database.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient
from pymongo.database import Database

from drills import archive as fmt
from drills.locations import ARCHIVE_SUFFIX, PREFIX, Location, LocationError, manifest_name, newest
from drills.manifest import CollectionDigest, Manifest, ManifestError, differences, digest

RAW = CodecOptions(document_class=RawBSONDocument)


class RestoreRefused(RuntimeError):
    """A restore that would overwrite data without --force; the message says what is there."""


@dataclass(frozen=True)
class Backup:
    archive_name: str
    archive: fmt.Archive
    manifest: Manifest | None  # None for a CronJob archive, which carries its own CRCs only

    def digests(self) -> dict[str, CollectionDigest]:
        """What the archive holds; the manifest's figures when there is one (checked against these)."""
        return {ns.collection: digest(ns.documents) for ns in self.archive.namespaces}


def _server_version(client: MongoClient[Any]) -> str:
    return str(client.server_info().get("version", "unknown"))


def _metadata(db: Database[Any], name: str) -> dict[str, Any]:
    """As mongodump writes metadata.json: the collection's options and its index definitions."""
    indexes = [dict(index) for index in db[name].list_indexes()]
    return {"indexes": indexes, "collectionName": name, "type": "collection", "options": {}}


def stamp(now: float | None = None) -> str:
    """The CronJob's `date -u +%Y%m%dT%H%M%SZ`, with milliseconds so two backups a second apart differ."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return moment.strftime("%Y%m%dT%H%M%S") + f".{moment.microsecond // 1000:03d}Z"


def take(client: MongoClient[Any], database: str, service: str, location: Location) -> Manifest:
    """Dump every collection of `database`, write the archive and then its manifest to `location`."""
    db = client.get_database(database, codec_options=RAW)
    namespaces = []
    for name in sorted(db.list_collection_names()):
        raw = [doc.raw for doc in db[name].find({}, sort=[("_id", 1)])]
        namespaces.append(fmt.Namespace(database, name, _metadata(db, name), raw))
    blob = fmt.to_bytes(fmt.Archive(_server_version(client), namespaces))
    name = f"{PREFIX}{stamp()}{ARCHIVE_SUFFIX}"
    manifest = Manifest(
        service=service,
        database=database,
        taken_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        archive=name,
        archive_sha256=hashlib.sha256(blob).hexdigest(),
        collections={ns.collection: digest(ns.documents) for ns in namespaces},
    )
    location.put(name, blob)
    location.put(manifest_name(name), manifest.to_json().encode())  # last: a manifest means complete
    return manifest


def load(location: Location, archive_name: str | None, service: str) -> Backup:
    """Read and check one backup (the newest when no name is given): archive structure and CRCs, the
    manifest's checksum, service and database. Raises ArchiveError, ManifestError or LocationError."""
    name = archive_name or newest(location)
    blob = location.get(name)
    if blob is None:
        raise LocationError(
            f"{location.url}{'' if location.url.endswith('/') else '/'}{name}: no such backup"
        )
    manifest_text = location.get(manifest_name(name))
    manifest = None
    if manifest_text is not None:
        manifest = Manifest.from_json(manifest_text.decode(errors="replace"), manifest_name(name))
        if manifest.service != service:
            raise ManifestError(f"{name}: a backup of {manifest.service!r}, not of {service!r}")
        if hashlib.sha256(blob).hexdigest() != manifest.archive_sha256:
            raise fmt.ArchiveError(f"{name}: corrupt, its SHA-256 differs from the manifest's")
    archive = fmt.read(blob)
    databases = {ns.db for ns in archive.namespaces}
    if manifest is not None and databases - {manifest.database}:
        raise ManifestError(
            f"{name}: holds database(s) {sorted(databases)}, manifest says {manifest.database!r}"
        )
    backup = Backup(name, archive, manifest)
    if manifest is not None and (problems := differences(manifest.collections, backup.digests())):
        raise fmt.ArchiveError(f"{name}: archive and manifest disagree: {'; '.join(problems)}")
    return backup


def _holds_data(db: Database[Any]) -> list[str]:
    return [name for name in db.list_collection_names() if db[name].estimated_document_count()]


def restore(client: MongoClient[Any], backup: Backup, database: str, force: bool = False) -> dict[str, int]:
    """Restore into `database` (mongorestore --drop). Refused over a database holding data unless forced."""
    db = client.get_database(database, codec_options=RAW)
    if not force and (busy := _holds_data(db)):
        raise RestoreRefused(
            f"database {database!r} holds data ({', '.join(sorted(busy))}): a restore would overwrite it; "
            f"stop the service and pass --force if that is meant"
        )
    restored = {}
    for ns in backup.archive.namespaces:
        collection = db[ns.collection]
        collection.drop()
        if ns.documents:
            collection.insert_many([RawBSONDocument(raw) for raw in ns.documents], ordered=True)
        for index in ns.metadata.get("indexes", []):
            if index.get("name") == "_id_":
                continue
            options = {k: v for k, v in index.items() if k not in ("key", "v", "ns")}
            collection.create_index(list(dict(index["key"]).items()), **options)
        restored[ns.collection] = len(ns.documents)
    return restored


def snapshot(client: MongoClient[Any], database: str) -> dict[str, CollectionDigest]:
    """Counts and content hashes of a live database, as a manifest states them."""
    db = client.get_database(database, codec_options=RAW)
    return {name: digest([d.raw for d in db[name].find({})]) for name in db.list_collection_names()}


def verify(client: MongoClient[Any], backup: Backup) -> list[str]:
    """Restore into a scratch database, compare with the manifest (or the archive's own figures),
    drop the scratch database. Empty when the restore is faithful."""
    source = backup.manifest.database if backup.manifest else backup.archive.namespaces[0].db
    scratch = f"{source}_verify_{os.getpid()}_{int(time.time() * 1000)}"
    try:
        restore(client, backup, scratch)
        found = snapshot(client, scratch)
    finally:
        client.drop_database(scratch)
    expected = backup.manifest.collections if backup.manifest else backup.digests()
    return differences(expected, found)
