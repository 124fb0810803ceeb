"""How a replica turns one ASGI HTTP request into a Quart request: Quart's own way, with fewer tasks.

Quart's `ASGIHTTPConnection` builds each request's headers one `add` at a time, in werkzeug's
`Headers`, which raises and catches a BadRequestKeyError (an HTTPException, 1.7 µs to build) for
every header it is asked for and lacks; each request asks for three it usually lacks (Content-Length
and Transfer-Encoding for its body, X-Request-ID). Here they come in one list, in `RequestHeaders`.

It also runs each request as two new tasks (the handler and a body/disconnect reader) joined by
`asyncio.wait`, cancels and gathers the loser, and sends the response inside
`asyncio.wait_for`, which on Python 3.11 is a third task. On a read that is about 4 µs of a 100 µs
hello-world. Here the handler runs in the server's own task and only the reader is a task, which on
a disconnect cancels the handler, as Quart does; the send is bounded by `asyncio.timeout`. What a
client sees is the same: body limits, timeouts and the response; a client that goes away still
cancels its request's handler, as in Quart.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, cast
from urllib.parse import urlparse

from quart.asgi import ASGIHTTPConnection, _handle_exception, _normalise_path
from quart.helpers import _split_blueprint_path
from quart.typing import ASGIReceiveCallable, ASGISendCallable
from quart.wrappers import Request, Response
from werkzeug.datastructures import Headers

from service.after_response import accept_after_response, run_after_response

_serving = 0  # requests this process is serving now


def requests_in_flight() -> int:
    """Requests this replica is serving right now: its worker steps aside while there are any."""
    return _serving


class RequestHeaders(Headers):
    """werkzeug's `Headers`, but a name asked for and missing costs a scan, not an exception."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        if type is not None or not isinstance(key, str):
            return super().get(key, default, type)
        folded = key.lower()
        for name, value in self._list:
            if name.lower() == folded:
                return value
        return default

    def __contains__(self, key: Any) -> bool:
        return self.get(key) is not None if isinstance(key, str) else super().__contains__(key)


class ServiceRequest(Request):
    @property
    def blueprints(self) -> list[str]:
        """Quart's, found once per endpoint: Quart asks for it about five times a request (its hooks,
        error handlers and teardown), and each time split the endpoint's name anew."""
        rule = self.url_rule
        return _blueprints_of(rule.endpoint) if rule is not None else []


@functools.cache
def _blueprints_of(endpoint: str) -> list[str]:
    return _split_blueprint_path(endpoint.rpartition(".")[0]) if "." in endpoint else []


class LeanHTTPConnection(ASGIHTTPConnection):
    def _create_request_from_scope(self, send: ASGISendCallable) -> Request:
        """Quart's, with the headers in one list: the server's parser has refused CR and LF in them
        already, which is what werkzeug's `add` checks one by one."""
        scope = self.scope
        headers = RequestHeaders()
        headers._list = [
            ("Remote-Addr", (scope.get("client") or ["<local>"])[0]),
            *((name.decode("latin1").title(), value.decode("latin1")) for name, value in scope["headers"]),
        ]
        if scope["http_version"] < "1.1":
            headers.setdefault("Host", self.app.config["SERVER_NAME"] or "")
        path = scope["path"] if scope["path"][0] == "/" else urlparse(scope["path"]).path
        root_path = scope.get("root_path", "")
        return self.app.request_class(
            scope["method"],
            scope["scheme"],
            _normalise_path(path, root_path) if root_path else path,
            scope["query_string"],
            headers,
            root_path,
            scope["http_version"],
            max_content_length=self.app.config["MAX_CONTENT_LENGTH"],
            body_timeout=self.app.config["BODY_TIMEOUT"],
            send_push_promise=functools.partial(self._send_push_promise, send),
            scope=scope,
        )

    async def __call__(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        request = self._create_request_from_scope(send)
        handler = asyncio.current_task()
        assert handler is not None
        disconnected = False
        answered = False  # the response's last message is handed to the server

        async def read_until_disconnect() -> None:
            nonlocal disconnected
            await self.handle_messages(request, receive)  # Quart's: feeds the body, returns on disconnect
            # Once answered, a disconnect is the end of the exchange (uvicorn reports one to every
            # receive after a complete response; a client may close as soon as it has its answer):
            # it cancels nothing, so the work left for after the response still runs.
            if not answered:
                disconnected = True
                handler.cancel()

        async def send_noting_the_answer(message: Any) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        global _serving
        scope = cast(dict[str, Any], self.scope)
        accept_after_response(scope)
        reader = asyncio.ensure_future(read_until_disconnect())
        _serving += 1
        try:
            await self.handle_request(request, send_noting_the_answer)
            await run_after_response(scope)
        except asyncio.CancelledError:
            # Our own cancel (the client left) ends the request quietly, as in Quart; any other
            # cancel (the server stopping) goes on up.
            if not (disconnected and handler.uncancel() == 0):
                raise
        finally:
            _serving -= 1
            reader.cancel()

    async def handle_request(self, request: Request, send: ASGISendCallable) -> None:
        try:
            response = await self.app.handle_request(request)
        except Exception as error:
            response = await _handle_exception(self.app, error)
        if isinstance(response, Response) and response.timeout != Ellipsis:
            timeout = cast(float | None, response.timeout)
        else:
            timeout = self.app.config["RESPONSE_TIMEOUT"]
        try:
            async with asyncio.timeout(timeout):
                await self._send_response(send, response)
        except TimeoutError:
            pass
