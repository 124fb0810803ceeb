"""Request routing independent of the HTTP server: faults, body parsing, metrics."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CONTENT_TYPE_LATEST

from stack.devnet.control_api import ControlApi
from stack.devnet.faults import Faults
from stack.devnet.metrics import DevnetMetrics
from stack.devnet.trongrid import TronGridApi
from stack.devnet.wallet_api import AnswerLost, WalletApi

JSON = "application/json"
UNKNOWN_ROUTE = "unknown"  # one label for every unrouted path keeps metric cardinality bounded
LOST = 0  # Response.status of an answer the server must not send (lose_answer fault)
# What Util.printErrorMsg answers, with HTTP 200, when a servlet catches an unexpected exception.
INTERNAL_ERROR = {"Error": "class java.lang.NullPointerException : null"}


@dataclass(frozen=True)
class Response:
    status: int  # LOST: close the connection without answering
    body: bytes
    content_type: str = JSON


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode())


class DevnetApp:
    def __init__(
        self,
        wallet: WalletApi,
        control: ControlApi,
        faults: Faults,
        metrics: DevnetMetrics,
        trongrid: TronGridApi,
    ) -> None:
        self._wallet = wallet
        self._control = control
        self._faults = faults
        self._metrics = metrics
        self._trongrid = trongrid

    def handle(self, method: str, path: str, body: bytes, query: str = "", base_url: str = "") -> Response:
        label, response = self._route(method, path.rstrip("/") or "/", body, query, base_url)
        self._metrics.observe_request(label, "lost" if response.status == LOST else str(response.status))
        return response

    def _route(self, method: str, path: str, body: bytes, query: str, base_url: str) -> tuple[str, Response]:
        if path.startswith(("/wallet/", "/walletsolidity/")):
            label = path if path in self._wallet.routes else UNKNOWN_ROUTE
            return label, self._wallet_request(path, body)
        if path.startswith("/control/"):
            return self._control.route_label(path), self._control_request(method, path, body)
        trongrid = self._trongrid.route_label(path)
        if trongrid is not None:
            return trongrid, self._trongrid_request(method, path, query, base_url)
        if path == "/metrics":
            return path, Response(200, self._metrics.render(), CONTENT_TYPE_LATEST)
        return UNKNOWN_ROUTE, json_response({"Error": f"no such endpoint {path}"}, 404)

    def _wallet_request(self, path: str, body: bytes) -> Response:
        if self._faults.down:
            return json_response({"Error": "devnet is down (injected fault)"}, 503)
        if self._faults.latency_ms:
            time.sleep(self._faults.latency_ms / 1000)
        if path not in self._wallet.routes:
            return json_response({"Error": f"no such endpoint {path}"}, 404)
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            return json_response({"Error": f"invalid JSON body: {exc}"})  # java-tron answers 200 here
        if not isinstance(payload, dict):
            return json_response({"Error": "body must be a JSON object"})
        if self._faults.hits("internal_error") is not None:
            return json_response(INTERNAL_ERROR)
        try:
            answer = self._wallet.handle(path, payload)
            if path == "/wallet/broadcasttransaction":
                code = "SUCCESS" if answer.get("result") else str(answer.get("code"))
                self._metrics.observe_broadcast(code)
            return json_response(answer)
        except AnswerLost as lost:
            self._metrics.observe_broadcast("SUCCESS")  # taken; only the answer is withheld
            if lost.mode == "hang":  # the client sees nothing until it gives up (or the fault ends)
                self._faults.wait_until_off("lose_answer")
            return Response(LOST, b"")

    def _trongrid_request(self, method: str, path: str, query: str, base_url: str) -> Response:
        # TronGrid fronts the same nodes: when they are down or slow, so is it.
        if self._faults.down:
            return json_response({"success": False, "error": "devnet is down (injected fault)"}, 503)
        if self._faults.latency_ms:
            time.sleep(self._faults.latency_ms / 1000)
        if method != "GET":
            return json_response({"success": False, "error": f"{method} not allowed; use GET"}, 405)
        status, answer = self._trongrid.handle(path, parse_qs(query), base_url)
        return json_response(answer, status)

    def _control_request(self, method: str, path: str, body: bytes) -> Response:
        try:
            payload = json.loads(body) if body.strip() else None
        except ValueError as exc:
            return json_response({"error": f"invalid JSON body: {exc}"}, 400)
        status, answer = self._control.handle(method, path, payload)
        return json_response(answer, status)
