"""The mesh's HTTP/1.1 parser: framing by Content-Length and chunked coding across arbitrary splits,
and refusals with the status a server answers."""

from __future__ import annotations

import pytest

from stack.mesh.http1 import Parser, ProtocolError, end_to_end


def _feed_bytewise(parser: Parser, data: bytes) -> list[bytes]:
    bodies = []
    for index in range(len(data)):
        parser.feed(data[index : index + 1])
        while (message := parser.next_message()) is not None:
            bodies.append(message.body)
    return bodies


def test_requests_framed_by_length_and_chunks_split_anywhere() -> None:
    data = (
        b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
        b"GET /c HTTP/1.1\r\n\r\n"
    )
    assert _feed_bytewise(Parser(responses=False), data) == [b"hello", b"abcde", b""]


def test_responses_framed_by_close_head_and_status() -> None:
    parser = Parser(responses=True)
    parser.bodiless_response = True
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
    message = parser.next_message()
    assert message is not None and message.body == b"" and message.keep_alive
    parser.bodiless_response = False
    parser.feed(b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil the end")
    assert parser.next_message() is not None
    assert parser.next_message() is None  # read until the connection closes
    closed = parser.finish()
    assert closed is not None and closed.body == b"until the end" and not closed.keep_alive


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n bad: fold\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\n\r\n", 505),
        (b"GET /\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413),
    ],
)
def test_bad_requests_are_refused_with_a_status(data: bytes, status: int) -> None:
    parser = Parser(responses=False)
    parser.feed(data)
    with pytest.raises(ProtocolError) as raised:
        parser.next_message()
    assert raised.value.status == status


def test_hop_by_hop_headers_are_not_forwarded() -> None:
    headers = [
        (b"connection", b"close, x-private"),
        (b"x-private", b"1"),
        (b"keep-alive", b"5"),
        (b"x-ok", b"1"),
    ]
    assert end_to_end([*headers, (b"content-length", b"3")]) == [(b"x-ok", b"1")]
    assert end_to_end([(b"content-length", b"3")], keep_length=True) == [(b"content-length", b"3")]


def test_a_response_without_a_status_code_is_refused() -> None:
    parser = Parser(responses=True)
    parser.feed(b"HTTP/1.1 OK fine\r\n\r\n")
    with pytest.raises(ProtocolError):
        parser.next_message()
