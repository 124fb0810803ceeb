"""Outgoing callbacks: signed POSTs telling a payment's `callback_url` of its final state.

- Signed with CALLBACK_SECRET (never the inbound WEBHOOK_SECRET, so a receiver's copy of it cannot
  forge webhooks to us), `X-Lucid-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
- Each carries an `event_id` fixed by the payment and its final state: every retry of one event has
  the same id, so the receiver deduplicates on it.
- One replica delivers each attempt: it claims the callback with a lease in the store; a lease that
  runs out (its replica died mid-attempt) lets another try again.
- They run in their own task, never in the money loop: a slow receiver delays only callbacks, and
  each attempt is bounded in total (connect, send, answer) by DELIVERY_SECONDS.
- In production mode the URL must be https, and every address its host resolves to must be public:
  no loopback, private, link-local (cloud metadata at 169.254.169.254), shared, reserved or
  multicast address. The host is resolved once per attempt, checked, and the connection goes to
  that checked address (TLS still verifies the host name): a second lookup, which a DNS-rebinding
  answer could point inside, never happens.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx

from service.clock import iso, now_ms
from service.money import format_amount
from service.ports.store import Doc, Store

log = logging.getLogger(__name__)

ATTEMPTS = 6  # backoff 1, 2, 4, 8, 16 s between them: about half a minute in all
DELIVERY_SECONDS = 10.0  # one attempt, from the lookup to the answer's status line
RESOLVE_SECONDS = 3.0
LEASE_SECONDS = 30.0  # well past DELIVERY_SECONDS: a live replica's lease never runs out mid-attempt
_EVENT_NAMESPACE = uuid.UUID("0b6f3d1e-52a4-4d55-9a0e-2f7c1c8f64a2")

Resolver = Callable[[str, int], Awaitable[list[str]]]


class CallbackUrlError(ValueError):
    """What is wrong with a callback URL, said so the caller can fix it."""


def sign_payload(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, for webhooks in and callbacks out."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_id(op: Doc) -> str:
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{op['_id']}:{op['status']}"))


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    # is_global is False for loopback, private (RFC 1918, ULA), link-local (169.254/16: cloud metadata),
    # shared (100.64/10: Alibaba's metadata), reserved and unspecified addresses.
    return ip.is_global and not ip.is_multicast


def parse(url: str, production: bool) -> SplitResult:
    """The URL's parts, if it is one a callback may go to (production mode: https only)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CallbackUrlError("must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise CallbackUrlError("must not carry credentials")
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number in range
    except ValueError:
        raise CallbackUrlError("has an invalid port") from None
    if production and parts.scheme != "https":
        raise CallbackUrlError("must be https")
    return parts


async def checked_addresses(parts: SplitResult, production: bool, resolver: Resolver = resolve) -> list[str]:
    """The addresses to connect to, looked up once; in production mode all of them must be public."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await asyncio.wait_for(resolver(host, port), RESOLVE_SECONDS)
    except (OSError, TimeoutError):
        raise CallbackUrlError(f"host {host} does not resolve") from None
    if not addresses:
        raise CallbackUrlError(f"host {host} does not resolve")
    inside = [a for a in addresses if not is_public(a)]
    if production and inside:
        raise CallbackUrlError(
            f"host {host} resolves to {', '.join(inside)}: a loopback, private, link-local or metadata "
            "address; callbacks go to public addresses only"
        )
    return addresses


async def check_url(url: str, production: bool, resolver: Resolver = resolve) -> None:
    """For the request that sets the URL: a clear refusal now rather than failed deliveries later.
    Only production mode looks the host up (to refuse one inside); development takes any name."""
    parts = parse(url, production)
    if production:
        await checked_addresses(parts, production, resolver)


@dataclass(frozen=True)
class Pinned:
    """A request to the checked address, with the URL's host in Host and in TLS (SNI and verification)."""

    url: str
    host_header: str
    sni_hostname: str | None


def pinned(parts: SplitResult, address: str) -> Pinned:
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    host_header = parts.hostname or ""
    host_header = f"[{host_header}]" if ":" in host_header else host_header
    if parts.port is not None:
        host_header = f"{host_header}:{parts.port}"
    return Pinned(target, host_header, parts.hostname if parts.scheme == "https" else None)


class CallbackSender:
    """This replica's callback loop: claim a due callback, attempt it, record the outcome."""

    def __init__(
        self,
        store: Store,
        secret: str,
        *,
        production: bool,
        owner: str,
        poll_seconds: float,
        resolver: Resolver = resolve,
        delivery_seconds: float = DELIVERY_SECONDS,
    ) -> None:
        self._store = store
        self._secret = secret
        self._production = production
        self._owner = owner
        self._poll = poll_seconds
        self._resolver = resolver
        self._delivery_seconds = delivery_seconds
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False, trust_env=False)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="callback-sender")

    async def stop(self) -> None:
        """Stop at once: an attempt cut short keeps its lease, which runs out, and is tried again."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._http.aclose()

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.deliver_due()
            except Exception:
                log.exception("callback round failed")
                busy = False
            if not busy:
                await asyncio.sleep(self._poll)

    async def deliver_due(self) -> bool:
        """Attempt one due callback, if any; True if there was one."""
        op = await self._store.claim_callback(self._owner, now_ms() + int(LEASE_SECONDS * 1000))
        if op is None:
            return False
        try:
            delivered = await asyncio.wait_for(self._attempt(op), self._delivery_seconds)
        except TimeoutError:
            log.warning("callback timed out", extra={"operation_id": op["_id"]})
            delivered = False
        attempts = op["callback"]["attempts"]
        if delivered:
            changes: Doc = {"callback.state": "delivered", "callback.next_at": None}
        elif attempts >= ATTEMPTS:
            changes = {"callback.state": "failed", "callback.next_at": None}
        else:
            changes = {"callback.state": "pending", "callback.next_at": now_ms() + 1000 * 2 ** (attempts - 1)}
        await self._store.transition(
            op["_id"],
            {"callback.state": "delivering", "callback.lease_owner": self._owner},
            {**changes, "callback.lease_owner": None, "callback.lease_until": None},
        )
        return True

    async def _attempt(self, op: Doc) -> bool:
        event = {
            "event_id": event_id(op),
            "event_type": f"payment.{op['status']}",
            "payment_id": op["_id"],
            "tx_id": op.get("tx_id"),
            "status": op["status"],
            "amount": format_amount(op["amount"]),
            "currency": op["currency"],
            "timestamp": iso(now_ms()),
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        try:
            parts = parse(op["callback_url"], self._production)
            address = (await checked_addresses(parts, self._production, self._resolver))[0]
        except CallbackUrlError as exc:
            log.warning("callback refused", extra={"operation_id": op["_id"], "error": str(exc)})
            return False
        target = pinned(parts, address)
        headers = {
            "Host": target.host_header,
            "Content-Type": "application/json",
            "X-Lucid-Signature": sign_payload(self._secret, body),
            "X-Lucid-Event-Id": event["event_id"],
        }
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        try:
            # The answer's body is never read: a receiver cannot make us hold a large one.
            async with self._http.stream(
                "POST", target.url, content=body, headers=headers, extensions=extensions
            ) as response:
                return response.status_code < 300
        except httpx.HTTPError as exc:
            log.info("callback attempt failed", extra={"operation_id": op["_id"], "error": str(exc)[:200]})
            return False
