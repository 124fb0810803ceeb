"""Where backups live: a directory here, or an S3 prefix in production (through boto3; the tests use a
test double of S3, named as such). Names follow the backup CronJob: `tron-payment-<UTC stamp>.archive.gz`,
with our manifest beside it as `….manifest.json` (a CronJob archive has none; it is checked on its own).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

PREFIX = "tron-payment-"  # deploy/k8s/backup-cronjob.yaml: tron-payment-$(date -u +%Y%m%dT%H%M%SZ)
ARCHIVE_SUFFIX = ".archive.gz"
MANIFEST_SUFFIX = ".manifest.json"


class LocationError(ValueError):
    """A location that cannot be used, or a backup that is not there; one line, what to fix."""


class Location(Protocol):
    @property
    def url(self) -> str: ...

    def put(self, name: str, data: bytes) -> None: ...

    def get(self, name: str) -> bytes | None: ...

    def names(self) -> list[str]: ...


@dataclass(frozen=True)
class DirectoryLocation:
    path: Path

    @property
    def url(self) -> str:
        return str(self.path)

    def put(self, name: str, data: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        partial = self.path / f".{name}.partial"
        partial.write_bytes(data)
        partial.replace(self.path / name)  # a reader never sees half a backup

    def get(self, name: str) -> bytes | None:
        file = self.path / name
        return file.read_bytes() if file.is_file() else None

    def names(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.is_file()) if self.path.is_dir() else []


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending in "/"
    client: Any  # a boto3 S3 client

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def put(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + name, Body=data)

    def get(self, name: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body

    def names(self) -> list[str]:
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            found += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
        return sorted(name for name in found if "/" not in name)


def open_location(spec: str) -> Location:
    """`s3://bucket/prefix/` (AWS_ENDPOINT_URL and the usual AWS_* variables pick the endpoint and
    credentials, as the CronJob's aws-cli does) or a directory path."""
    if spec.startswith("s3://"):
        bucket, _, prefix = spec[5:].partition("/")
        if not bucket:
            raise LocationError(f"{spec}: no bucket; write s3://BUCKET/PREFIX/")
        import boto3

        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        return S3Location(bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/", client)
    path = Path(spec).expanduser()
    if path.exists() and not path.is_dir():
        raise LocationError(f"{spec}: a file, not a directory of backups")
    return DirectoryLocation(path)


def archives(location: Location) -> list[str]:
    """The backups' archive names, oldest first (the UTC stamp sorts as it reads)."""
    return [n for n in location.names() if n.startswith(PREFIX) and n.endswith(ARCHIVE_SUFFIX)]


def manifest_name(archive_name: str) -> str:
    return archive_name[: -len(ARCHIVE_SUFFIX)] + MANIFEST_SUFFIX


def split_backup(spec: str) -> tuple[Location, str | None]:
    """BACKUP as the restore command takes it: one archive (a file or an s3:// key), or a location,
    meaning its newest backup."""
    if spec.endswith(ARCHIVE_SUFFIX):
        head, _, name = spec.rstrip("/").rpartition("/")
        return open_location(head + "/" if spec.startswith("s3://") else head or "."), name
    return open_location(spec), None


def newest(location: Location) -> str:
    found = archives(location)
    if not found:
        raise LocationError(f"{location.url}: no backup there (no {PREFIX}*{ARCHIVE_SUFFIX})")
    return found[-1]
