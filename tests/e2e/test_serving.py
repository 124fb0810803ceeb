"""How a replica is served (uvicorn, service/serving.py): a request head over 16 KiB is refused with
400 and the connection closed, keep-alive carries many requests on one connection."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from stack.processes import Part


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
