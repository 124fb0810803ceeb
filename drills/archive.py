"""mongodump's archive format, gzip'd as `mongodump --archive --gzip` writes it (the backup CronJob in
deploy/k8s/backup-cronjob.yaml), written and read through pymongo's bson so `mongorestore --archive
--gzip` can restore what `tronops backup` takes, and `tronops restore` what the CronJob took.

Followed: mongo-tools common/archive/spec.md ("The Mongodump archive format specification"):

    archive = magic-number, header, *collection-metadata, terminator-bytes,
              *(namespace-segment | namespace-eof)
    magic-number = 0x8199e26d (little-endian on disk); terminator-bytes = 0xffffffff
    header = {concurrent_collections: int32, version: "0.1", server_version, tool_version}
    collection-metadata = {db, collection, metadata (canonical Extended JSON v2), size: int32}
    namespace-segment = {db, collection, EOF: false, CRC: int64 0}, +document, terminator-bytes
    namespace-eof = {db, collection, EOF: true, CRC: CRC-64-ECMA of every document}, terminator-bytes

The CRC is Go's hash/crc64 with the ECMA table (reflected, initial and final value all ones), which is
what mongodump computes over each namespace's documents; a reader that finds another CRC says the
archive is corrupt rather than restoring something else.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import bson
from bson import json_util

MAGIC = struct.pack("<I", 0x8199E26D)
TERMINATOR = b"\xff\xff\xff\xff"
FORMAT_VERSION = "0.1"
TOOL_VERSION = "tronops-backup 1"
_ECMA_REFLECTED = 0xC96C5795D7870F42  # the ECMA-182 polynomial, bit-reversed, as Go's crc64.ECMA


class ArchiveError(ValueError):
    """An archive that is not what mongodump writes; the message names what is wrong, in one line."""


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _ECMA_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc64_ecma(data: bytes, crc: int = 0) -> int:
    """Go's crc64.Update(crc, crc64.MakeTable(crc64.ECMA), data): chainable over a namespace's documents."""
    crc ^= 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def _signed64(value: int) -> int:
    """The CRC as the int64 BSON field mongodump writes (Go's int64(uint64))."""
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass
class Namespace:
    """One collection in an archive: its metadata (indexes, options) and its documents as raw BSON."""

    db: str
    collection: str
    metadata: dict[str, Any]
    documents: list[bytes] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.db}.{self.collection}"


@dataclass
class Archive:
    server_version: str
    namespaces: list[Namespace]


def write(archive: Archive, out: BinaryIO) -> None:
    """The archive, gzip'd, one segment per collection (mongodump with one collection at a time)."""
    with gzip.GzipFile(fileobj=out, mode="wb") as body:
        body.write(MAGIC)
        body.write(
            bson.encode(
                {
                    "concurrent_collections": 1,
                    "version": FORMAT_VERSION,
                    "server_version": archive.server_version,
                    "tool_version": TOOL_VERSION,
                }
            )
        )
        for ns in archive.namespaces:
            metadata = json_util.dumps(ns.metadata, json_options=json_util.CANONICAL_JSON_OPTIONS)
            size = sum(len(doc) for doc in ns.documents)
            body.write(
                bson.encode({"db": ns.db, "collection": ns.collection, "metadata": metadata, "size": size})
            )
        body.write(TERMINATOR)
        for ns in archive.namespaces:
            crc = 0
            if ns.documents:
                body.write(bson.encode({"db": ns.db, "collection": ns.collection, "EOF": False, "CRC": 0}))
                for doc in ns.documents:
                    body.write(doc)
                    crc = crc64_ecma(doc, crc)
                body.write(TERMINATOR)
            eof = {"db": ns.db, "collection": ns.collection, "EOF": True, "CRC": bson.Int64(_signed64(crc))}
            body.write(bson.encode(eof))
            body.write(TERMINATOR)


def to_bytes(archive: Archive) -> bytes:
    buffer = io.BytesIO()
    write(archive, buffer)
    return buffer.getvalue()


class _Reader:
    """BSON documents and terminators off an uncompressed archive, each read checked for truncation."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def exhausted(self) -> bool:
        return self.at >= len(self.data)

    def terminator_next(self) -> bool:
        if self.data[self.at : self.at + 4] == TERMINATOR:
            self.at += 4
            return True
        return False

    def raw_document(self, what: str) -> bytes:
        if self.at + 5 > len(self.data):
            raise ArchiveError(f"archive truncated: {what} expected at byte {self.at}")
        (length,) = struct.unpack_from("<i", self.data, self.at)
        if length < 5 or self.at + length > len(self.data) or self.data[self.at + length - 1] != 0:
            raise ArchiveError(f"archive corrupt: {what} at byte {self.at} has a bad length ({length})")
        raw = self.data[self.at : self.at + length]
        self.at += length
        return raw

    def document(self, what: str) -> dict[str, Any]:
        raw = self.raw_document(what)
        try:
            return dict(bson.decode(raw))
        except bson.errors.BSONError as error:
            raise ArchiveError(f"archive corrupt: {what} is not BSON ({error})") from error


def _decompress(blob: bytes) -> bytes:
    try:
        return gzip.decompress(blob)
    except (OSError, EOFError, zlib.error) as error:
        raise ArchiveError(f"not a gzip'd mongodump archive ({error})") from error


def read(blob: bytes) -> Archive:
    """Parse a gzip'd archive, checking the magic number, every length, and each namespace's CRC."""
    reader = _Reader(_decompress(blob))
    if reader.data[:4] != MAGIC:
        raise ArchiveError("not a mongodump archive: the magic number 0x8199e26d is missing")
    reader.at = 4
    header = reader.document("the archive header")
    if header.get("version") != FORMAT_VERSION:
        raise ArchiveError(f"archive format version {header.get('version')!r} is not {FORMAT_VERSION!r}")
    namespaces: dict[str, Namespace] = {}
    while not reader.terminator_next():
        meta = reader.document("collection metadata")
        ns = Namespace(meta["db"], meta["collection"], dict(json_util.loads(meta.get("metadata") or "{}")))
        namespaces[ns.name] = ns
    crcs: dict[str, int] = {}
    finished: set[str] = set()
    while not reader.exhausted():
        head = reader.document("a namespace header")
        name = f"{head.get('db')}.{head.get('collection')}"
        if name not in namespaces:
            raise ArchiveError(f"archive corrupt: data for {name}, which its prelude does not list")
        if head.get("EOF"):
            expected = int(head.get("CRC", 0)) & 0xFFFFFFFFFFFFFFFF
            if crcs.get(name, 0) != expected:
                raise ArchiveError(f"archive corrupt: {name}'s documents fail their CRC-64 check")
            finished.add(name)
        else:
            while not reader.terminator_next():
                doc = reader.raw_document(f"a document of {name}")
                namespaces[name].documents.append(doc)
                crcs[name] = crc64_ecma(doc, crcs.get(name, 0))
            continue
        if not reader.terminator_next():
            raise ArchiveError(f"archive corrupt: no terminator after {name}'s end")
    missing = sorted(set(namespaces) - finished)
    if missing:
        raise ArchiveError(f"archive truncated: {', '.join(missing)} never reached its end marker")
    return Archive(str(header.get("server_version", "")), list(namespaces.values()))


def documents(namespace: Namespace) -> Iterator[dict[str, Any]]:
    for raw in namespace.documents:
        yield dict(bson.decode(raw))


def encode_all(docs: Iterable[dict[str, Any]]) -> list[bytes]:
    return [bson.encode(doc) for doc in docs]
