"""mongodump's archive format: what we write reads back, and a damaged archive is named as such."""

from __future__ import annotations

import gzip
import struct

import bson
import pytest

from drills import archive as fmt


def sample() -> fmt.Archive:
    docs = fmt.encode_all([{"_id": i, "amount": bson.Int64(10**12 + i), "memo": "é" * i} for i in range(5)])
    return fmt.Archive(
        "7.0.0",
        [
            fmt.Namespace(
                "lucid_tron_payment",
                "operations",
                {"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]},
                docs,
            ),
            fmt.Namespace("lucid_tron_payment", "empty", {"indexes": []}, []),
        ],
    )


def test_crc_is_gos_crc64_ecma() -> None:
    # Go: crc64.Checksum([]byte("123456789"), crc64.MakeTable(crc64.ECMA)) == 0x995dc9bbdf1939fa
    assert fmt.crc64_ecma(b"123456789") == 0x995DC9BBDF1939FA
    assert fmt.crc64_ecma(b"6789", fmt.crc64_ecma(b"12345")) == 0x995DC9BBDF1939FA


def test_layout_follows_the_spec() -> None:
    raw = gzip.decompress(fmt.to_bytes(sample()))
    assert raw[:4] == bytes.fromhex("6de29981")  # 0x8199e26d little-endian
    (length,) = struct.unpack_from("<i", raw, 4)
    header = bson.decode(raw[4 : 4 + length])
    assert header == {"concurrent_collections": 1, "version": "0.1", "server_version": "7.0.0",
                      "tool_version": fmt.TOOL_VERSION}  # fmt: skip
    assert raw.endswith(fmt.TERMINATOR)


def test_round_trip_keeps_every_document_and_index() -> None:
    back = fmt.read(fmt.to_bytes(sample()))
    assert [ns.name for ns in back.namespaces] == [
        "lucid_tron_payment.operations",
        "lucid_tron_payment.empty",
    ]
    assert back.namespaces[0].documents == sample().namespaces[0].documents
    assert back.namespaces[0].metadata["indexes"][0]["name"] == "_id_"
    assert back.namespaces[1].documents == []


def test_a_flipped_byte_fails_the_crc() -> None:
    raw = bytearray(gzip.decompress(fmt.to_bytes(sample())))
    spot = raw.index("éé".encode()) + 1
    raw[spot] ^= 0x01
    with pytest.raises(fmt.ArchiveError, match="CRC-64"):
        fmt.read(gzip.compress(bytes(raw)))


@pytest.mark.parametrize(
    ("blob", "says"),
    [
        (b"not gzip at all", "not a gzip'd mongodump archive"),
        (gzip.compress(b"\x00\x00\x00\x00" + bson.encode({"version": "0.1"})), "magic number"),
    ],
)
def test_not_an_archive_is_one_line(blob: bytes, says: str) -> None:
    with pytest.raises(fmt.ArchiveError, match=says) as caught:
        fmt.read(blob)
    assert "\n" not in str(caught.value)


def test_a_truncated_archive_is_named() -> None:
    raw = gzip.decompress(fmt.to_bytes(sample()))
    with pytest.raises(fmt.ArchiveError, match=r"truncated|corrupt"):
        fmt.read(gzip.compress(raw[: len(raw) - 30]))
