"""How a replica is served (uvicorn, service/serving.py): a request head over 16 KiB is refused with
400 and the connection closed, keep-alive carries many requests on one connection, and each response
leaves in one write."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

from loadtests.procs import hello_part
from stack.processes import Part
from tests.support.proc_io import write_calls


def _exchange(service: Part, request: bytes) -> bytes:
    address = urlsplit(service.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):  # until the server closes: proof it did
            answer += chunk
    return answer


def test_a_request_head_over_the_limit_is_refused_and_the_connection_closed(service: Part) -> None:
    big = b"X-Padding: " + b"a" * 20_000 + b"\r\n"
    answer = _exchange(service, b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]


def test_keep_alive_serves_several_requests_on_one_connection(service: Part) -> None:
    one = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = _exchange(
        service, one * 2 + b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert answer.count(b"HTTP/1.1 200 ") == 3, answer[:500]


def _response(conn: socket.socket) -> bytes:
    """One whole response with a Content-Length, however many reads it takes."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += conn.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    assert length is not None, head
    while len(body) < int(length[1]):
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def test_each_response_leaves_in_one_write(tmp_path: Path) -> None:
    # uvicorn writes a response's head as soon as the app starts it and its body after: two system
    # calls and two TCP segments per response without serving.TurnCoalescedWrites. The bare app on
    # the same serving code: nothing else in that process writes while it answers.
    requests = 100
    hello = hello_part(tmp_path).start()
    try:
        address = urlsplit(hello.url)
        with socket.create_connection((address.hostname, address.port), timeout=5) as conn:
            one = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
            conn.sendall(one)
            assert _response(conn).startswith(b"HTTP/1.1 200 ")
            before = write_calls(hello.pid)
            for _ in range(requests):
                conn.sendall(one)
                assert b'{"hello":"world"}' in _response(conn)
            writes = write_calls(hello.pid) - before
    finally:
        hello.stop()
    # One each; two each would be 2 * requests (a margin for a stray write of the runtime's own).
    assert requests <= writes < 1.2 * requests, f"{writes} write calls for {requests} responses"
