"""Open a report in a real browser (Debian's headless Chromium) and say what a reader would meet:
script errors (uncaught exceptions and console errors, from the DevTools protocol), requests that left
the file (the page must open offline), how many plots hold drawn data, and a full-page screenshot.

Driven over the Chrome DevTools Protocol on a websocket (websocket-client), the way chromedriver
itself drives Chromium: Runtime.exceptionThrown, Log.entryAdded, Network.requestWillBeSent,
Page.captureScreenshot (https://chromedevtools.github.io/devtools-protocol/).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websocket

from harness.waiting import wait_for

WIDTH = 1280
MAX_HEIGHT = 8000  # a screenshot taller than this is cut: the top of the report is what matters
LOAD_TIMEOUT_S = 30.0
# A plot holds data when one of its lines has points and the browser laid out a non-zero length.
COUNT_PLOTS = """
Array.from(document.querySelectorAll('svg.plot')).filter(function (svg) {
  return Array.from(svg.querySelectorAll('path.series')).some(function (path) {
    return Number(path.getAttribute('data-points')) > 1 && path.getTotalLength() > 0;
  });
}).length
"""


class BrowserUnavailable(RuntimeError):
    """No Chromium here, or it would not start; the message says how to get it."""


@dataclass(frozen=True)
class BrowserCheck:
    script_errors: list[str]
    plots_with_data: int
    screenshot: Path
    external_requests: list[str] = field(default_factory=list)  # anything not from a file: not offline


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise BrowserUnavailable("no chromium on PATH: apt-get install --no-install-recommends chromium")
    return found


def check_in_browser(html: Path, screenshot: Path) -> BrowserCheck:
    with tempfile.TemporaryDirectory(prefix="report-browser-") as profile:
        process = _start(Path(profile))
        try:
            return _Session(_page_socket(Path(profile), process)).check(html.resolve(), screenshot)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End Chromium and every helper process it started (its own process group), so none still writes
    to the profile directory when it is removed."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

    def group_gone() -> bool:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, 10, "chromium's helper processes to end", interval=0.05)


def _start(profile: Path) -> subprocess.Popen[bytes]:
    argv = [
        chromium(),
        "--headless=new",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},900",
        "about:blank",
    ]
    if os.geteuid() == 0:  # Chromium refuses to run as root with its sandbox (containers, CI)
        argv.insert(1, "--no-sandbox")
    # its own process group: the helpers it forks (zygote, GPU, crashpad) end with it
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _page_socket(profile: Path, process: subprocess.Popen[bytes]) -> websocket.WebSocket:
    active = profile / "DevToolsActivePort"

    def port() -> int | None:
        if process.poll() is not None:
            raise BrowserUnavailable(f"chromium exited with {process.returncode} before it listened")
        lines = active.read_text().splitlines() if active.exists() else []
        return int(lines[0]) if lines and lines[0].isdigit() else None

    listening = wait_for(port, LOAD_TIMEOUT_S, "chromium's DevTools port")
    targets = httpx.get(f"http://127.0.0.1:{listening}/json/list", timeout=10).json()
    page = next(t for t in targets if t["type"] == "page")
    return websocket.create_connection(page["webSocketDebuggerUrl"], timeout=LOAD_TIMEOUT_S)


class _Session:
    """One page over CDP: commands by id, events collected while waiting for answers."""

    def __init__(self, socket: websocket.WebSocket) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == number:
                if "error" in message:
                    raise BrowserUnavailable(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_event(self, method: str) -> None:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise BrowserUnavailable(f"the page sent no {method} within {LOAD_TIMEOUT_S:g} s")
            self.events.append(json.loads(self.socket.recv()))

    def check(self, html: Path, screenshot: Path) -> BrowserCheck:
        try:
            for domain in ("Runtime", "Log", "Network", "Page"):
                self.send(f"{domain}.enable")
            self.send("Page.navigate", url=html.as_uri())
            self.wait_event("Page.loadEventFired")
            plots = self.send("Runtime.evaluate", expression=COUNT_PLOTS, returnByValue=True)
            height = self.send("Page.getLayoutMetrics")["cssContentSize"]["height"]
            self.send(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=min(int(height) + 1, MAX_HEIGHT),
                deviceScaleFactor=1,
                mobile=False,
            )
            image = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        finally:
            self.socket.close()
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(image["data"]))
        return BrowserCheck(
            script_errors=self._script_errors(),
            plots_with_data=int(plots.get("result", {}).get("value", 0)),
            screenshot=screenshot,
            external_requests=[
                e["params"]["request"]["url"]
                for e in self.events
                if e.get("method") == "Network.requestWillBeSent"
                and not e["params"]["request"]["url"].startswith(("file:", "data:"))
            ],
        )

    def _script_errors(self) -> list[str]:
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                thrown = details.get("exception", {}).get("description") or details.get("text", "")
                errors.append(f"line {details.get('lineNumber', 0) + 1}: {thrown}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(f"{params['entry']['source']}: {params['entry']['text']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] == "error":
                errors.append("console.error: " + " ".join(str(a.get("value", "")) for a in params["args"]))
        return errors
