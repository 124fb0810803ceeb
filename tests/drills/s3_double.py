"""A test double of Amazon S3 (named as such: S3 cannot run here), on loopback, for the backup
locations. It answers the calls a backup makes, the way S3's REST API documents them: PutObject,
GetObject, ListObjectsV2 (prefix, delimiter), XML errors NoSuchBucket / NoSuchKey with 404, and
AccessDenied (403) for an unsigned request. Signatures are not checked: it proves the calls, not IAM.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

NS = "http://s3.amazonaws.com/doc/2006-03-01/"


class S3Double:
    def __init__(self, buckets: tuple[str, ...]) -> None:
        self.objects: dict[str, dict[str, bytes]] = {bucket: {} for bucket in buckets}
        self.lock = threading.Lock()


def _error(code: str, message: str, resource: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<Resource>{escape(resource)}</Resource><RequestId>double</RequestId></Error>"
    ).encode()


def _handler(store: S3Double) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if body and not (headers or {}).get("Content-Type"):
                self.send_header("Content-Type", "application/xml")
            self.end_headers()
            self.wfile.write(body)

        def _target(self) -> tuple[str, str, dict[str, list[str]]] | None:
            url = urllib.parse.urlsplit(self.path)
            bucket, _, key = url.path.lstrip("/").partition("/")
            if "Authorization" not in self.headers:
                self._send(403, _error("AccessDenied", "Access Denied", url.path))
                return None
            if bucket not in store.objects:
                self._send(404, _error("NoSuchBucket", "The specified bucket does not exist", bucket))
                return None
            return bucket, urllib.parse.unquote(key), urllib.parse.parse_qs(url.query)

        def do_PUT(self) -> None:
            if (target := self._target()) is None:
                return
            bucket, key, _ = target
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with store.lock:
                store.objects[bucket][key] = body
            self._send(200, headers={"ETag": f'"{hashlib.md5(body).hexdigest()}"'})

        def do_GET(self) -> None:
            if (target := self._target()) is None:
                return
            bucket, key, query = target
            with store.lock:
                objects = dict(store.objects[bucket])
            if key:
                if key not in objects:
                    self._send(404, _error("NoSuchKey", "The specified key does not exist.", key))
                    return
                self._send(200, objects[key], {"Content-Type": "application/octet-stream"})
                return
            self._send(200, _listing(bucket, objects, query))

    return Handler


def _listing(bucket: str, objects: dict[str, bytes], query: dict[str, list[str]]) -> bytes:
    prefix = query.get("prefix", [""])[0]
    delimiter = query.get("delimiter", [""])[0]
    keys, prefixes = [], set()
    for key in sorted(k for k in objects if k.startswith(prefix)):
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            prefixes.add(prefix + rest.split(delimiter)[0] + delimiter)
        else:
            keys.append(key)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    contents = "".join(
        f"<Contents><Key>{escape(k)}</Key><LastModified>{now}</LastModified>"
        f'<ETag>"{hashlib.md5(objects[k]).hexdigest()}"</ETag><Size>{len(objects[k])}</Size>'
        f"<StorageClass>STANDARD</StorageClass></Contents>"
        for k in keys
    )
    common = "".join(
        f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in sorted(prefixes)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}"><Name>{bucket}</Name>'
        f"<Prefix>{escape(prefix)}</Prefix><KeyCount>{len(keys) + len(prefixes)}</KeyCount>"
        f"<MaxKeys>1000</MaxKeys><Delimiter>{escape(delimiter)}</Delimiter><IsTruncated>false</IsTruncated>"
        f"{contents}{common}</ListBucketResult>"
    ).encode()


@contextmanager
def s3_double(*buckets: str) -> Iterator[tuple[str, S3Double]]:
    """The double's endpoint URL and its objects, for as long as the block runs."""
    store = S3Double(buckets)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", store
    finally:
        server.shutdown()
        server.server_close()
