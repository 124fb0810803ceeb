"""A small incremental HTTP/1.1 parser and the serializers the mesh needs, built for speed in pure Python.

Bodies are framed by Content-Length or chunked transfer coding (responses also by 1xx/204/304, HEAD, or
the connection closing) and always buffered whole: the mesh must hold a request to retry it, and the
payment API's bodies are small. Header names are lower-cased, as Envoy's HTTP/1 codec does.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"expect",  # the mesh answers 100-continue itself
    }
)
REASONS = {status.value: status.phrase.encode() for status in HTTPStatus}
_HOP_BY_HOP_AND_LENGTH = HOP_BY_HOP | {b"content-length"}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

Headers = list[tuple[bytes, bytes]]  # (lower-case name, value)

_NONE, _FIXED, _CHUNKED, _UNTIL_CLOSE = range(4)
_SIZE, _DATA, _TRAILER = range(3)


class ProtocolError(Exception):
    """Unparseable or unsupported HTTP: `status` is what a server answers to it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Message:
    start: tuple[bytes, bytes, bytes]  # method, target, version | version, status, reason
    headers: Headers
    body: bytes
    keep_alive: bool

    def header(self, name: bytes) -> bytes | None:
        """The value of header `name` (lower-case), repeated ones joined with commas as HTTP allows."""
        values = [value for key, value in self.headers if key == name]
        return b",".join(values) if values else None


class Parser:
    """Feed bytes with `feed`, take complete messages with `next_message` (None until one is whole)."""

    __slots__ = (
        "_buffer",
        "_chunk_state",
        "_chunks",
        "_head",
        "_mode",
        "_remaining",
        "_responses",
        "bodiless_response",
        "wants_continue",
    )

    def __init__(self, responses: bool) -> None:
        self._responses = responses
        self._buffer = bytearray()
        self._head: Message | None = None
        self._mode = _NONE
        self._remaining = 0
        self._chunks: list[bytes] = []
        self._chunk_state = _SIZE
        self.bodiless_response = False  # set when the request was HEAD: its response has no body
        self.wants_continue = False  # a request asked for `100 Continue` before sending its body

    def feed(self, data: bytes) -> None:
        self._buffer += data

    @property
    def idle(self) -> bool:
        """Nothing of a next message has arrived yet."""
        return self._head is None and not self._buffer

    def next_message(self) -> Message | None:
        if self._head is None and not self._read_head():
            return None
        head = self._head
        assert head is not None
        mode = self._mode
        if mode == _NONE:
            body = b""
        elif mode == _FIXED:
            if len(self._buffer) < self._remaining:
                return None
            body = bytes(self._buffer[: self._remaining])
            del self._buffer[: self._remaining]
        elif mode == _CHUNKED:
            if not self._read_chunks():
                return None
            body = b"".join(self._chunks)
            self._chunks = []
        else:
            return None  # until close: `finish` completes it
        head.body = body
        self._head = None
        return head

    def finish(self) -> Message | None:
        """The peer closed: a response framed by the close is now complete; anything else is cut off."""
        head = self._head
        if head is None or self._mode != _UNTIL_CLOSE:
            return None
        head.body = bytes(self._buffer)
        head.keep_alive = False
        self._head = None
        self._buffer.clear()
        return head

    def _read_head(self) -> bool:
        buffer = self._buffer
        while buffer[:2] == b"\r\n":  # RFC 9112: ignore empty lines before a request line
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise ProtocolError(431, "header section too large")
            return False
        lines = bytes(buffer[:end]).split(b"\r\n")
        del buffer[: end + 4]
        start = lines[0].split(b" ", 2)
        if len(start) == 2 and self._responses:
            start.append(b"")  # a status line may omit the reason phrase
        if len(start) != 3 or (self._responses and not (len(start[1]) == 3 and start[1].isdigit())):
            raise ProtocolError(400, f"malformed start line {lines[0][:100]!r}")
        headers: Headers = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name[-1] in b" \t" or name[0] in b" \t":
                raise ProtocolError(400, f"malformed header line {line[:100]!r}")
            headers.append((name.lower(), value.strip()))
        message = Message((start[0], start[1], start[2]), headers, b"", True)
        self._frame(message)
        self._head = message
        return True

    def _frame(self, message: Message) -> None:
        connection = encoding = length = expect = None
        for key, value in message.headers:  # one pass: this runs for every message
            if key == b"content-length":
                length = value if length is None else length + b"," + value
            elif key == b"transfer-encoding":
                encoding = value if encoding is None else encoding + b"," + value
            elif key == b"connection":
                connection = value.lower() if connection is None else connection + b"," + value.lower()
            elif key == b"expect":
                expect = value
        version = message.start[0] if self._responses else message.start[2]
        if version == b"HTTP/1.1":
            message.keep_alive = connection is None or b"close" not in connection
        elif version == b"HTTP/1.0":
            message.keep_alive = connection is not None and b"keep-alive" in connection
        else:
            raise ProtocolError(
                505 if version.startswith(b"HTTP/") else 400, f"unsupported version {version!r}"
            )
        if self._responses:
            status = message.start[1]
            if self.bodiless_response or status[:1] == b"1" or status in (b"204", b"304"):
                self._mode = _NONE
                return
        if encoding is not None:
            if encoding.lower() != b"chunked" or length is not None:
                raise ProtocolError(
                    501 if length is None else 400, f"unsupported transfer-encoding {encoding!r}"
                )
            self._mode, self._chunk_state = _CHUNKED, _SIZE
        elif length is not None:
            values = {part.strip() for part in length.split(b",")}  # repeats must agree (RFC 9110)
            value = values.pop()
            if values or not value.isdigit():
                raise ProtocolError(400, f"bad content-length {length!r}")
            self._remaining = int(value)
            if self._remaining > MAX_BODY_BYTES:
                raise ProtocolError(413, f"body of {self._remaining} bytes is over the limit")
            self._mode = _FIXED if self._remaining else _NONE
        else:
            self._mode = _UNTIL_CLOSE if self._responses else _NONE
        if not self._responses and self._mode != _NONE:
            self.wants_continue = expect is not None and expect.lower() == b"100-continue"

    def _read_chunks(self) -> bool:
        buffer = self._buffer
        while True:
            if self._chunk_state == _DATA:
                if len(buffer) < self._remaining + 2:
                    return False
                self._chunks.append(bytes(buffer[: self._remaining]))
                if buffer[self._remaining : self._remaining + 2] != b"\r\n":
                    raise ProtocolError(400, "chunk data not followed by CRLF")
                del buffer[: self._remaining + 2]
                self._chunk_state = _SIZE
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ProtocolError(400, "chunk header or trailer too long")
                return False
            line = bytes(buffer[:end])
            del buffer[: end + 2]
            if self._chunk_state == _TRAILER:
                if not line:
                    return True  # trailers are dropped: nothing in the payment API sends them
                continue
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError(400, f"bad chunk size {line[:40]!r}") from None
            if size < 0 or sum(map(len, self._chunks)) + size > MAX_BODY_BYTES:
                raise ProtocolError(413, "chunked body over the limit")
            if size == 0:
                self._chunk_state = _TRAILER
            else:
                self._remaining, self._chunk_state = size, _DATA


def end_to_end(headers: Headers, keep_length: bool = False) -> Headers:
    """`headers` without hop-by-hop ones (also those the Connection header names) and, unless
    `keep_length`, without Content-Length: the mesh re-frames the bodies it buffered."""
    drop = HOP_BY_HOP if keep_length else _HOP_BY_HOP_AND_LENGTH
    if any(key == b"connection" for key, _ in headers):
        drop = drop.union(
            token.strip().lower()
            for key, value in headers
            if key == b"connection"
            for token in value.split(b",")
        )
    return [(key, value) for key, value in headers if key not in drop]


def serialize_headers(headers: Headers) -> bytes:
    return b"".join(key + b": " + value + b"\r\n" for key, value in headers)


def response_bytes(
    status: int, reason: bytes, headers: Headers, body: bytes, *, head_request: bool, close: bool
) -> bytes:
    """A whole HTTP/1.1 response; a HEAD response keeps the length it would have had, without the body."""
    framing = b""
    if not (head_request or status < 200 or status in (204, 304)):
        framing = b"content-length: " + str(len(body)).encode() + b"\r\n"
    if close:
        framing += b"connection: close\r\n"
    return (
        b"HTTP/1.1 "
        + str(status).encode()
        + b" "
        + reason
        + b"\r\n"
        + serialize_headers(headers)
        + framing
        + b"\r\n"
        + (b"" if head_request else body)
    )


def local_response(
    status: int, body: bytes, content_type: bytes = b"text/plain", *, close: bool = False
) -> bytes:
    return response_bytes(
        status,
        REASONS.get(status, b"Unknown"),
        [(b"content-type", content_type)],
        body,
        head_request=False,
        close=close,
    )
