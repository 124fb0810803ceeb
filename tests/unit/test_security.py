import json
import logging
import time

import jwt
import pytest
from cryptography.exceptions import InvalidTag

from service.auth import mint_token
from service.callbacks import sign_payload
from service.logs import JsonFormatter
from service.ports.vault import KeyVault
from service.routes.payments import verify_signature


def test_vault_keys_are_encrypted_and_bound_to_their_wallet() -> None:
    vault = KeyVault(b"k" * 32)
    address, encrypted = vault.new_key("wallet-1")
    key = vault.private_key(encrypted, "wallet-1")
    assert key.public_key.to_base58check_address() == address
    assert key.hex() not in encrypted
    with pytest.raises(InvalidTag):
        vault.private_key(encrypted, "wallet-2")
    with pytest.raises(InvalidTag):
        KeyVault(b"j" * 32).private_key(encrypted, "wallet-1")


def test_minted_token_carries_sub_roles_and_expiry() -> None:
    claims = jwt.decode(mint_token("s" * 32, "alice", ["admin"], 60), "s" * 32, algorithms=["HS256"])
    assert claims["sub"] == "alice" and claims["roles"] == ["admin"] and claims["exp"] > time.time()


def test_webhook_signatures_verify_and_reject() -> None:
    body = b'{"a":1}'
    header = sign_payload("secret", body)
    assert verify_signature(header, body, "secret") is None
    assert "does not match" in (verify_signature(header, b'{"a":2}', "secret") or "")
    assert "does not match" in (verify_signature(header, body, "other") or "")
    stale = sign_payload("secret", body, int(time.time()) - 301)
    assert "5 minutes" in (verify_signature(stale, body, "secret") or "")
    assert "t=<unix seconds>" in (verify_signature("garbage", body, "secret") or "")


def test_logs_are_json_and_never_carry_secrets() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "auth Bearer abc.def.ghi failed", None, None)
    record.private_key = "deadbeef"
    record.operation_id = "op-1"
    entry = json.loads(JsonFormatter("svc", "pod-0").format(record))
    assert entry["message"] == "auth Bearer [redacted] failed"
    assert entry["private_key"] == "[redacted]" and entry["operation_id"] == "op-1"
    assert entry["service"] == "svc" and entry["pod"] == "pod-0" and entry["level"] == "info"
