"""`tronops backup` and `tronops restore`: logical backups of the service's database in mongodump's
gzip'd archive format with a manifest, to a directory or s3:// (drills/)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tronops.commands import Commands

if TYPE_CHECKING:
    from pymongo import MongoClient


def _connect(args: argparse.Namespace) -> MongoClient[Any]:
    from pymongo import MongoClient

    from drills.database import store_uri
    from harness.target import DEFAULT_STACK_DIR

    return MongoClient(args.mongodb_uri or store_uri(DEFAULT_STACK_DIR), serverSelectionTimeoutMS=5000)


def cmd_backup(args: argparse.Namespace) -> int:
    from pymongo.errors import PyMongoError

    from drills import backup
    from drills.database import default_database, service_name
    from drills.locations import LocationError, open_location
    from harness.target import DEFAULT_STACK_DIR, TargetError

    database = args.db or default_database()
    try:
        location = open_location(args.to or str(DEFAULT_STACK_DIR / "backups"))
        manifest = backup.take(_connect(args), database, service_name(), location)
    except (TargetError, LocationError, PyMongoError, OSError) as error:
        print(f"tronops backup: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{name} {d.count}" for name, d in sorted(manifest.collections.items()))
    print(f"backed up {database} to {location.url.rstrip('/')}/{manifest.archive} ({counts or 'empty'})")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pymongo.errors import PyMongoError

    from drills import backup
    from drills.archive import ArchiveError
    from drills.database import default_database, service_name
    from drills.locations import LocationError, split_backup
    from drills.manifest import ManifestError
    from harness.target import TargetError

    try:
        location, name = split_backup(args.backup)
        loaded = backup.load(location, name, service_name())
        client = _connect(args)
        if args.verify:
            problems = backup.verify(client, loaded)
            if problems:
                print(
                    f"tronops restore: {loaded.archive_name} does not verify: {'; '.join(problems)}",
                    file=sys.stderr,
                )
                return 1
            against = "its manifest" if loaded.manifest else "its own CRCs and counts (no manifest)"
            print(f"verified {loaded.archive_name}: a scratch restore matches {against}")
        if args.verify and not args.into:
            return 0
        database = args.into or default_database()
        restored = backup.restore(client, loaded, database, force=args.force)
    except backup.RestoreRefused as refused:
        print(f"tronops restore: {refused}", file=sys.stderr)
        return 1
    except (ArchiveError, ManifestError, LocationError, TargetError, PyMongoError, OSError) as error:
        print(f"tronops restore: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{name} {count}" for name, count in sorted(restored.items()))
    print(f"restored {loaded.archive_name} into {database} ({counts or 'empty'})")
    return 0


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mongodb-uri", help="the store (default: $MONGODB_URI, else the local stack's)")


def register(commands: Commands) -> None:
    take = commands.add_parser("backup", help="back up the service's database (mongodump archive + manifest)")
    take.add_argument(
        "--to",
        metavar="LOCATION",
        help="a directory or s3://BUCKET/PREFIX/ (default: the local stack's, var/stack/backups)",
    )
    take.add_argument("--db", help="database (default: $MONGODB_DB, else deploy/k8s/configmap.yaml's)")
    _add_store(take)
    take.set_defaults(func=cmd_backup)

    back = commands.add_parser(
        "restore", help="restore a backup; --verify checks it in a scratch database first"
    )
    back.add_argument(
        "backup", metavar="BACKUP", help="an archive (file or s3:// key), or a location: its newest"
    )
    back.add_argument(
        "--verify",
        action="store_true",
        help="restore into a scratch database and compare with the manifest, then stop "
        "(with --into, restore there after it passes)",
    )
    back.add_argument("--into", metavar="DB", help="restore into this database (default: the service's)")
    back.add_argument("--force", action="store_true", help="overwrite a database that holds data")
    _add_store(back)
    back.set_defaults(func=cmd_restore)
