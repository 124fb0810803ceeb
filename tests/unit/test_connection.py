"""The service's ASGI connection keeps Quart's contract with fewer tasks: the body reaches the view,
a client that leaves cancels its handler (and the request ends quietly), a server that cancels the
request still sees its cancel. Driven through the ASGI callables a server would give it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from quart import Blueprint, Quart, request
from quart.asgi import ASGIHTTPConnection
from quart.wrappers import Request
from werkzeug.datastructures import Headers

from service.after_response import after_response
from service.connection import LeanHTTPConnection, ServiceRequest, requests_in_flight


def _app(seen: dict[str, Any]) -> Quart:
    app = Quart("connection-test")
    app.asgi_http_class = LeanHTTPConnection

    @app.post("/echo")
    async def echo() -> dict[str, Any]:
        if "started" in seen:
            seen["in_flight"] = requests_in_flight()
            seen["started"].set()
        return {"body": (await request.get_data()).decode()}

    @app.get("/slow")
    async def slow() -> str:
        seen["in_flight"] = requests_in_flight()
        seen["started"].set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen["cancelled"] = True
            raise
        return "never"

    @app.post("/pay")
    async def pay() -> dict[str, Any]:
        async def fails() -> None:
            raise RuntimeError("the store went away")

        async def records_what_the_client_had() -> None:
            await asyncio.sleep(0)  # yields, as a store write does
            seen["client_had"] = [message["type"] for message in seen["sent"]]

        await after_response(fails)
        await after_response(records_what_the_client_had)
        return {"queued": True}

    return app


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }


async def _run(
    app: Quart,
    scope: dict[str, Any],
    incoming: asyncio.Queue[dict[str, Any]],
    sent: list[dict[str, Any]] | None = None,
    client_closes_when_answered: bool = False,
) -> list[dict[str, Any]]:
    """Serve one request; with `client_closes_when_answered` the server learns of the client's close
    while it sends the response's last message, and yields there (as a server does writing it out)."""
    sent = [] if sent is None else sent

    async def send(message: Any) -> None:
        sent.append(message)
        if client_closes_when_answered and not message.get("more_body", True):
            incoming.put_nowait({"type": "http.disconnect"})
            await asyncio.sleep(0)

    await app(scope, incoming.get, send)  # type: ignore[arg-type]
    return sent


def test_a_body_sent_in_parts_reaches_the_view_and_the_response_goes_out() -> None:
    async def scenario() -> list[dict[str, Any]]:
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for part, more in ((b"hel", True), (b"lo", False)):
            incoming.put_nowait({"type": "http.request", "body": part, "more_body": more})
        return await _run(_app({}), _scope("POST", "/echo"), incoming)

    sent = asyncio.run(scenario())
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b'{"body":"hello"}\n'
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_client_that_leaves_cancels_the_handler_and_the_request_ends_quietly() -> None:
    seen: dict[str, Any] = {"cancelled": False}

    async def scenario() -> list[dict[str, Any]]:
        seen["started"] = asyncio.Event()
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        request_task = asyncio.create_task(_run(_app(seen), _scope("GET", "/slow"), incoming))
        await asyncio.wait_for(seen["started"].wait(), 5)
        incoming.put_nowait({"type": "http.disconnect"})
        done, _ = await asyncio.wait([request_task], timeout=5)  # waits without cancelling it
        assert request_task in done, "the handler went on after its client left"
        return request_task.result()

    sent = asyncio.run(scenario())
    assert seen["cancelled"] is True
    assert not any(m["type"] == "http.response.start" for m in sent)


def test_a_server_cancelling_the_request_still_sees_its_cancel() -> None:
    seen: dict[str, Any] = {"cancelled": False}

    async def scenario() -> None:
        seen["started"] = asyncio.Event()
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        request_task = asyncio.create_task(_run(_app(seen), _scope("GET", "/slow"), incoming))
        await asyncio.wait_for(seen["started"].wait(), 5)
        request_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request_task

    asyncio.run(scenario())
    assert seen["cancelled"] is True


@pytest.mark.parametrize("client_closes_when_answered", [False, True])
def test_work_left_for_after_the_response_runs_once_the_client_has_it_even_if_it_leaves(
    client_closes_when_answered: bool,
) -> None:
    """A payout's Idempotency-Key record is written after its 202 (service/idempotency.py): it must
    run after the response, and run even when the client closes as soon as it has its answer; one
    piece of work that fails does not stop the next, nor change the answer."""
    seen: dict[str, Any] = {"sent": []}

    async def scenario() -> None:
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        await _run(_app(seen), _scope("POST", "/pay"), incoming, seen["sent"], client_closes_when_answered)

    asyncio.run(scenario())
    assert seen["sent"][0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in seen["sent"][1:]) == b'{"queued":true}\n'
    assert seen.get("client_had") == ["http.response.start", "http.response.body", "http.response.body"]


@pytest.mark.parametrize("ending", ["answered", "client left", "server cancelled"])
def test_a_request_counts_as_in_flight_while_it_is_served_however_it_ends(ending: str) -> None:
    """The worker steps aside while its replica serves requests (service/worker.py): a count that kept
    a request that had ended would slow the worker for good."""
    seen: dict[str, Any] = {"cancelled": False}

    async def scenario() -> tuple[int, int]:
        before = requests_in_flight()
        seen["started"] = asyncio.Event()
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        method, path = ("POST", "/echo") if ending == "answered" else ("GET", "/slow")
        request_task = asyncio.create_task(_run(_app(seen), _scope(method, path), incoming))
        await asyncio.wait_for(seen["started"].wait(), 5)
        if ending == "client left":
            incoming.put_nowait({"type": "http.disconnect"})
        elif ending == "server cancelled":
            request_task.cancel()
        await asyncio.wait([request_task], timeout=5)
        assert request_task.done()
        return before, requests_in_flight()

    before, after = asyncio.run(scenario())
    assert (seen["in_flight"], after) == (before + 1, before), "counted while served, not after"


@pytest.mark.parametrize(
    ("path", "root_path", "http_version"),
    [("/api/v1/payouts/x", "", "1.1"), ("/svc/api/v1/payouts/x", "/svc", "1.1"), ("/health", "", "1.0")],
)
def test_a_request_is_built_as_quarts_own_with_the_same_headers(
    path: str, root_path: str, http_version: str
) -> None:
    app = Quart("connection-test")
    scope = {
        **_scope("GET", path),
        "root_path": root_path,
        "http_version": http_version,
        "query_string": b"a=1",
        "headers": [
            (b"host", b"test"),
            (b"x-request-id", b"abc"),
            (b"accept", b"*/*"),
            (b"x-dup", b"1"),
            (b"x-dup", b"2"),
        ],
    }

    async def send(message: Any) -> None:
        raise AssertionError("nothing is sent while a request is built")

    ours = LeanHTTPConnection(app, scope)._create_request_from_scope(send)  # type: ignore[arg-type]
    quarts = ASGIHTTPConnection(app, scope)._create_request_from_scope(send)  # type: ignore[arg-type]
    assert list(ours.headers.items()) == list(quarts.headers.items())
    assert (ours.method, ours.path, ours.root_path, ours.query_string, ours.http_version) == (
        quarts.method,
        quarts.path,
        quarts.root_path,
        quarts.query_string,
        quarts.http_version,
    )
    for name in ("X-Request-ID", "x-request-id", "Content-Length", "X-Dup", "Host"):
        assert ours.headers.get(name) == quarts.headers.get(name), name
        assert (name in ours.headers) == (name in quarts.headers), name
    assert ours.headers.get("Content-Length", type=int) is None and ours.content_length is None
    assert ours.headers.getlist("X-Dup") == ["1", "2"]


async def test_a_requests_blueprints_are_quarts_own() -> None:
    app = Quart("connection-test")
    outer, inner = Blueprint("outer", __name__), Blueprint("inner", __name__)

    @inner.get("/x")
    async def x() -> str:
        return ""

    outer.register_blueprint(inner, url_prefix="/in")
    app.register_blueprint(outer, url_prefix="/out")

    async def blueprints(request_class: type[Request], path: str) -> list[str]:
        built = request_class(
            "GET",
            "http",
            path,
            b"",
            Headers({"Host": "t"}),
            "",
            "1.1",
            _scope("GET", path),
            send_push_promise=None,  # type: ignore[arg-type]
        )
        async with app.request_context(built):  # pushing the context matches the request to a route
            return list(built.blueprints)

    assert await blueprints(ServiceRequest, "/out/in/x") == await blueprints(Request, "/out/in/x")
    assert await blueprints(ServiceRequest, "/out/in/x") == ["outer.inner", "outer"]
    assert await blueprints(ServiceRequest, "/nowhere") == await blueprints(Request, "/nowhere") == []
