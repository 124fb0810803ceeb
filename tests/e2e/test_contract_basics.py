"""Auth, roles, the error format, request ids, rate limits, health probes and the metrics contract."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import jwt

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.waiting import wait_for
from smoke.contract import METRICS
from stack.local import Backends
from stack.processes import Part

ERROR_FIELDS = {"code", "message", "details", "request_id", "timestamp", "service", "version"}


def test_authentication_and_roles(service: Part, backends: Backends, api_as: Callable[..., Api]) -> None:
    plain = httpx.Client(base_url=service.url)
    missing = plain.get("/api/v1/wallets")
    assert missing.status_code == 401 and set(missing.json()["error"]) == ERROR_FIELDS
    assert missing.json()["error"]["code"] == "LUCID_ERR_0401"
    expired = jwt.encode(
        {"sub": "a", "roles": ["admin"], "exp": int(time.time()) - 5},
        backends.service_env()["JWT_SECRET"],
        "HS256",
    )
    response = plain.get("/api/v1/wallets", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    forged = jwt.encode({"sub": "a", "roles": ["admin"], "exp": int(time.time()) + 60}, "x" * 40, "HS256")
    assert plain.get("/api/v1/wallets", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    user = api_as("user")
    forbidden = user.post("/api/v1/payouts/initiate", {}, key="k")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "LUCID_ERR_0403"


def test_request_ids_are_echoed_or_made(api: Api) -> None:
    echoed = api.get("/api/v1/wallets", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["X-Request-ID"] == "trace-123"
    made = api.get("/api/v1/nowhere")
    assert made.status_code == 404 and made.json()["error"]["request_id"] == made.headers["X-Request-ID"]


def test_a_request_id_outside_the_pattern_is_refused(api: Api) -> None:
    for bad in ("", "has space", "x" * 129, "semi;colon"):
        refused = api.get("/api/v1/wallets", headers={"X-Request-ID": bad})
        assert refused.status_code == 400, (bad, refused.text)
        error = refused.json()["error"]
        assert error["message"].startswith("X-Request-ID: ") and refused.headers["X-Request-ID"] != bad


def test_a_wrong_method_is_405_with_allow(api: Api) -> None:
    for method, path, allowed in (
        ("TRACE", "/ready", "GET, HEAD, OPTIONS"),
        ("GET", "/api/v1/payments/process", "OPTIONS, POST"),  # not taken for GET /payments/{payment_id}
        ("DELETE", "/api/v1/admin/payouts/freeze", "GET, HEAD, OPTIONS, PUT"),
    ):
        answer = api.http.request(method, path)
        assert answer.status_code == 405 and answer.headers["Allow"] == allowed, (
            method,
            path,
            answer.headers,
        )
        assert answer.json()["error"]["code"] == "LUCID_ERR_0405"


def test_rate_limit_per_user_and_group(api_as: Callable[..., Api], service: Part) -> None:
    staker = api_as("staking_manager")
    address = staker.wallet("TRX")["address"]
    path = f"/api/v1/staking/rewards/{address}"
    # The window is a fixed minute, so it may roll over mid-test: ask until refused (two windows at most,
    # 101 requests take well under a minute) and check the window the refusal fell in.
    answers: list[httpx.Response] = []
    while len(answers) < 101 and (not answers or answers[-1].status_code == 200):
        answers.append(staker.get(path))
    *allowed, refused = answers
    assert refused.status_code == 429, [a.status_code for a in answers]
    window = allowed[-50:]
    assert [a.headers["X-RateLimit-Remaining"] for a in window] == [str(n) for n in range(49, -1, -1)]
    assert all(a.status_code == 200 and a.headers["X-RateLimit-Limit"] == "50" for a in window)
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "LUCID_ERR_9004"
    assert api_as("staking_manager").get(path).status_code in (200, 404), "another user has their own budget"
    metrics = httpx.get(f"{service.url}/metrics").text
    assert re.search(r'tron_payment_rate_limit_exceeded_total\{group="staking"\} [1-9]', metrics)


def test_health_probes_follow_their_dependencies(service: Part, devnet: Devnet, api: Api) -> None:
    health = httpx.get(f"{service.url}/health").json()
    assert health["status"] == "ok"
    assert {c: v["status"] for c, v in health["components"].items()} == {
        "database": "up",
        "redis": "up",
        "tron_network": "up",
    }
    devnet.control("down", {"down": True})
    try:
        down = wait_for(
            lambda: (r := httpx.get(f"{service.url}/health")).status_code == 503 and r,
            10,
            "/health to report the node down",
        )
        assert down.json()["components"]["tron_network"]["status"] == "down"
        assert httpx.get(f"{service.url}/health/live").status_code == 200, "liveness never depends on others"
        assert httpx.get(f"{service.url}/health/ready").status_code == 200
        assert httpx.get(f"{service.url}/ready").status_code == 200
        assert api.get("/api/v1/tron/network/status").json()["status"] == "down"
        unavailable = api.get("/api/v1/tron/network/info")
        assert unavailable.status_code == 503 and unavailable.json()["error"]["code"] == "LUCID_ERR_9001"
        metrics = httpx.get(f"{service.url}/metrics").text
        assert 'tron_network_status{status="down"} 1.0' in metrics
    finally:
        devnet.control("down", {"down": False})
    wait_for(lambda: httpx.get(f"{service.url}/health").status_code == 200, 10, "/health to recover")


def test_network_endpoints(api: Api) -> None:
    info = api.get("/api/v1/tron/network/info").json()
    assert info["current_height"] > 0 and info["chain_id"]
    height = api.get("/api/v1/tron/network/height").json()
    assert height["height"] >= info["current_height"] - 1
    status = api.get("/api/v1/tron/network/status").json()
    assert status["status"] == "healthy" and status["sync_lag_seconds"] < 5
    fees = api.get("/api/v1/tron/network/fees").json()
    assert all(re.fullmatch(r"\d+\.\d{6}", fees[k]) for k in ("energy_price", "transaction_fee"))


def test_metrics_follow_the_contract(service: Part, api: Api) -> None:
    api.get("/api/v1/wallets/3f0e8c2a-0000-4000-8000-000000000000")
    text = httpx.get(f"{service.url}/metrics").text
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for name, kind in METRICS.items():
        assert types.get(name) == kind, f"{name}: expected a {kind}, /metrics says {types.get(name)}"
    assert 'route="/api/v1/wallets/{wallet_id}"' in text, "routes are templated, not raw paths"
    assert "3f0e8c2a" not in text
    assert re.search(r'http_request_duration_seconds_bucket\{le="0.005",method="GET",route="[^"]+"\}', text)
    assert re.search(r'http_request_duration_seconds_bucket\{le="120.0"', text)
