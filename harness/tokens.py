"""Bearer tokens as the contract defines them (shared/API.md, "Auth"), minted without the service.

HS256 JWTs signed with the deployment's `JWT_SECRET`, claims `sub` (user id), `roles` (list) and `exp`
(plus `iat`). There is no login endpoint: the operator CLI, the smoke suite, load and chaos mint
their own. The service verifies them in service/auth.py; a test proves the two agree.
"""

from __future__ import annotations

import time

# The contract's roles, in its order.
ROLES = ("user", "admin", "payout_manager", "staking_manager", "payment_manager")


def mint_token(secret: str, sub: str, roles: list[str] | tuple[str, ...], ttl_s: int = 3600) -> str:
    """A signed token for `sub` with `roles`, valid for `ttl_s` seconds from now."""
    import jwt  # here, not at the top: it loads `cryptography` (0.15 s), and `tronops --help` lists ROLES

    now = int(time.time())
    return jwt.encode({"sub": sub, "roles": list(roles), "iat": now, "exp": now + ttl_s}, secret, "HS256")
