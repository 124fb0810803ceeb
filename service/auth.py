"""Bearer JWT (HS256) authentication and role checks."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import jwt
from quart import current_app, g, request

from service import ratelimit
from service.errors import FORBIDDEN, UNAUTHORIZED, ApiError

ROLES = ("user", "admin", "payout_manager", "staking_manager", "payment_manager")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: frozenset[str]


def mint_token(secret: str, sub: str, roles: Iterable[str], ttl_seconds: int = 3600) -> str:
    """A token as the operator CLI issues them (there is no login endpoint)."""
    now = int(time.time())
    return jwt.encode(
        {"sub": sub, "roles": list(roles), "iat": now, "exp": now + ttl_seconds}, secret, "HS256"
    )


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, UNAUTHORIZED, message, headers={"WWW-Authenticate": 'Bearer realm="tron-payment"'})


# Clients send one token many times: a verified token is remembered until it expires, which
# spares the HMAC check and claim parsing on every request (a bounded, per-replica memory).
_VERIFIED: dict[tuple[str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 10_000


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing bearer token: send Authorization: Bearer <JWT>")
    secret = current_app.config["SERVICE"].jwt_secret
    known = _VERIFIED.get((secret, token))
    if known is not None and known[1] > time.time():
        return known[0]
    principal, expires = _verify(token, secret)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[(secret, token)] = (principal, expires)
    return principal


def _verify(token: str, secret: str) -> tuple[Principal, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired: mint a new one") from None
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None
    roles = claims.get("roles", [])
    if not isinstance(claims["sub"], str) or not claims["sub"] or not isinstance(roles, list):
        raise _unauthorized("invalid token: `sub` must be a string and `roles` a list")
    return Principal(user_id=claims["sub"], roles=frozenset(str(r) for r in roles)), float(claims["exp"])


def requires(*roles: str) -> Callable[[F], F]:
    """Authenticate, then demand one of `roles` (none given: any authenticated caller)."""

    def decorate(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if roles and not principal.roles & set(roles):
                raise ApiError(403, FORBIDDEN, f"this needs one of the roles: {', '.join(roles)}")
            g.principal = principal
            return await ratelimit.enforce(
                current_app.config["PORTS"].cache, principal.user_id, lambda: view(*args, **kwargs)
            )

        return wrapper  # type: ignore[return-value]

    return decorate


def principal() -> Principal:
    return g.principal  # type: ignore[no-any-return]
