"""Where backups live: a directory here, or an S3 prefix in production (through the minio SDK, which
speaks S3's REST API with SigV4 to AWS or any S3-compatible store; boto3 needs python-dateutil<3, which
the kubernetes client this project pins refuses). The tests use a test double of S3, named as such.
Names follow the backup CronJob: `tron-payment-<UTC stamp>.archive.gz`, with our manifest beside it
as `….manifest.json` (a CronJob archive has none; it is checked on its own CRCs).
"""

from __future__ import annotations

import io
import os
import urllib.parse
from collections.abc import Callable
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
    client: Any  # a minio.Minio client

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _call(self, action: Callable[[], Any], what: str) -> Any:
        from minio.error import S3Error

        try:
            return action()
        except S3Error as error:
            if error.code == "NoSuchKey":
                return None
            raise LocationError(f"{self.url}: {what} refused: {error.code} ({error.message})") from error

    def put(self, name: str, data: bytes) -> None:
        key = self.prefix + name
        self._call(lambda: self.client.put_object(self.bucket, key, io.BytesIO(data), len(data)), "upload")

    def get(self, name: str) -> bytes | None:
        def read() -> bytes:
            response = self.client.get_object(self.bucket, self.prefix + name)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        found: bytes | None = self._call(read, "download")
        return found

    def names(self) -> list[str]:
        listed = self._call(
            lambda: list(self.client.list_objects(self.bucket, prefix=self.prefix)), "listing"
        )
        return sorted(item.object_name[len(self.prefix) :] for item in listed or [] if not item.is_dir)


def _s3_client() -> Any:
    """From the variables aws-cli reads (the CronJob's): AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION."""
    from minio import Minio

    endpoint = urllib.parse.urlsplit(os.environ.get("AWS_ENDPOINT_URL") or "https://s3.amazonaws.com")
    return Minio(
        endpoint.netloc,
        access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
        secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        session_token=os.environ.get("AWS_SESSION_TOKEN"),
        secure=endpoint.scheme == "https",
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )


def open_location(spec: str) -> Location:
    """`s3://bucket/prefix/` or a directory path."""
    if spec.startswith("s3://"):
        bucket, _, prefix = spec[5:].partition("/")
        if not bucket:
            raise LocationError(f"{spec}: no bucket; write s3://BUCKET/PREFIX/")
        return S3Location(
            bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/", _s3_client()
        )
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
