"""The supervisor's HTTP API: JSON on loopback, served by a small threaded stdlib server.

GET  /healthz            the supervisor answers
GET  /pods               every pod: name, url, pid, phase, ready, restarts, started_at, last_termination
GET  /pods/{name}        one pod
GET  /endpoints          the ready pods only: [{"name", "url"}] (what a mesh routes to)
GET  /sd                 Prometheus HTTP service discovery: every pod as a scrape target
POST /pods/{name}/kill   body optional: {"signal": "KILL"|"TERM"} (default KILL)
POST /pods/kill          {"count": N} | {"random": true} | {"names": [...]}, plus optional "signal"
POST /pods/{name}/delete `kubectl delete pod`: drained (out of the endpoints, preStop, TERM, grace), not
                         restarted; answers {"deleted": [proof]}
POST /scale              {"replicas": N}: `kubectl scale deployment`; answers {"pods": [...]}
Kills answer {"killed": [proof per pod]} once each process is gone (500 if one is not, by the deadline).

A pod's phase: Running (its process runs), CrashLoopBackOff (waiting out the back-off before the
next restart) or Pending (no process yet, or being restarted right now); started_at is when its
current (or last) container started.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from stack.json_http import send_json
from stack.pods.pod import Pod
from stack.pods.supervisor import SIGNALS, PodsError, Supervisor

KILL_ONE = re.compile(r"/pods/([^/]+)/kill")
DELETE_ONE = re.compile(r"/pods/([^/]+)/delete")
ONE_POD = re.compile(r"/pods/([^/]+)")
SELECTORS = ("count", "random", "names")
ROUTES = (
    "GET /healthz, /pods, /pods/{name}, /endpoints, /sd; "
    "POST /pods/{name}/kill, /pods/kill, /pods/{name}/delete, /scale"
)


class PodsApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], supervisor: Supervisor) -> None:
        super().__init__(address, _Handler)
        self.supervisor = supervisor

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def _signal_name(body: dict[str, Any]) -> str:
    name = body.get("signal", "KILL")
    name = name.removeprefix("SIG") if isinstance(name, str) else name
    if name not in SIGNALS:
        raise PodsError(f"signal must be one of {', '.join(SIGNALS)} (default KILL), not {body['signal']!r}")
    return str(name)


def _check_fields(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise PodsError(f"unknown fields {unknown}; allowed: {', '.join(allowed)}")


def _chosen(supervisor: Supervisor, body: dict[str, Any]) -> list[Pod]:
    """The pods a `POST /pods/kill` body names: exactly one of count, random, names."""
    given = [key for key in SELECTORS if key in body]
    if len(given) != 1:
        raise PodsError('give exactly one of {"count": N}, {"random": true} or {"names": ["pod", ...]}')
    value = body[given[0]]
    if given[0] == "count":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PodsError(f"count must be a whole number >= 1, not {value!r}")
        return supervisor.choose(count=value)
    if given[0] == "random":
        if value is not True:
            raise PodsError(f'random must be true (to kill one pod at random), not {value!r}; or use "count"')
        return supervisor.choose(count=1)
    if not isinstance(value, list) or not value or not all(isinstance(n, str) for n in value):
        raise PodsError(f"names must be a non-empty list of pod names, not {value!r}")
    if len(set(value)) != len(value):
        raise PodsError(f"names lists a pod twice: {value!r}")
    return supervisor.choose(names=value)


class _Handler(BaseHTTPRequestHandler):
    server: PodsApi

    def do_GET(self) -> None:
        supervisor = self.server.supervisor
        path = urlsplit(self.path).path
        routes: dict[str, Callable[[], Any]] = {
            "/healthz": lambda: {"status": "ok", "pods": len(supervisor.pods)},
            "/pods": supervisor.views,
            "/endpoints": supervisor.endpoints,
            "/sd": supervisor.scrape_targets,
        }
        if path in routes:
            self._answer(200, routes[path]())
        elif match := ONE_POD.fullmatch(path):
            self._handle(lambda: (200, supervisor.view(match[1])))
        else:
            self._not_found(path)

    def do_POST(self) -> None:
        supervisor = self.server.supervisor
        path = urlsplit(self.path).path

        def kill(pods: Callable[[dict[str, Any]], list[Pod]], allowed: tuple[str, ...]) -> tuple[int, Any]:
            body = self._body()
            _check_fields(body, allowed)
            signal_name = _signal_name(body)
            proofs = supervisor.kill(pods(body), signal_name)
            return (200 if all(proof["gone"] for proof in proofs) else 500), {"killed": proofs}

        if path == "/pods/kill":
            self._handle(lambda: kill(lambda body: _chosen(supervisor, body), (*SELECTORS, "signal")))
        elif match := KILL_ONE.fullmatch(path):
            self._handle(lambda: kill(lambda _: supervisor.choose(names=[match[1]]), ("signal",)))
        elif deleting := DELETE_ONE.fullmatch(path):
            self._handle(lambda: self._delete(deleting[1]))
        elif path == "/scale":
            self._handle(self._scale)
        else:
            self._not_found(path)

    def _delete(self, name: str) -> tuple[int, Any]:
        supervisor = self.server.supervisor
        proofs = supervisor.delete([supervisor.pod(name)])
        return (200 if all(proof["gone"] for proof in proofs) else 500), {"deleted": proofs}

    def _scale(self) -> tuple[int, Any]:
        body = self._body()
        _check_fields(body, ("replicas",))
        return 200, {"pods": self.server.supervisor.scale(body.get("replicas"))}  # type: ignore[arg-type]

    def _handle(self, action: Callable[[], tuple[int, Any]]) -> None:
        try:
            status, body = action()
        except PodsError as exc:
            status, body = exc.status, {"error": str(exc)}
        self._answer(status, body)

    def _body(self) -> dict[str, Any]:
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        except ValueError:
            raise PodsError("the Content-Length header must be a number") from None
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PodsError('the body must be a JSON object, e.g. {"count": 1} or {"signal": "TERM"}')
        return body

    def _not_found(self, path: str) -> None:
        self._answer(404, {"error": f"no route {self.command} {path}; the routes are: {ROUTES}"})

    def _answer(self, status: int, body: Any) -> None:
        send_json(self, status, body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a mesh polls /endpoints twice a second; the supervisor logs what it does instead."""
