import base64

import pytest

from service.config import Config, ConfigError

GOOD = {
    "NODE_ENV": "production",
    "JWT_SECRET": "x" * 40,
    "ENCRYPTION_KEY": base64.b64encode(b"k" * 32).decode(),
    "WEBHOOK_SECRET": "w",
    "CALLBACK_SECRET": "c",
    "MONGODB_URI": "mongodb://db",
    "REDIS_URL": "redis://r",
}


def test_production_config_reads_the_seed_names() -> None:
    config = Config.from_env({**GOOD, "PORT": "9000", "ENCRYPTION_KEY": "ab" * 32})
    assert config.production and config.port == 9000 and config.encryption_key == b"\xab" * 32


@pytest.mark.parametrize(
    "missing",
    ["JWT_SECRET", "ENCRYPTION_KEY", "WEBHOOK_SECRET", "CALLBACK_SECRET", "MONGODB_URI", "REDIS_URL"],
)
def test_production_refuses_to_start_without_a_secret(missing: str) -> None:
    env = {k: v for k, v in GOOD.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        Config.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("ENCRYPTION_KEY", "short", "32 bytes"),
        ("JWT_SECRET", "abc", "too short"),
        ("PORT", "eighty", "whole number"),
    ],
)
def test_malformed_settings_are_named(name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Config.from_env({**GOOD, name: value})


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_test_have_working_defaults(environment: str) -> None:
    config = Config.from_env({"NODE_ENV": environment})
    assert not config.production and len(config.encryption_key) == 32 and config.port == 8085


@pytest.mark.parametrize("environment", ["staging", "prod", "Development", None])
def test_any_other_environment_refuses_the_dev_secrets_naming_the_missing_one(
    environment: str | None,
) -> None:
    env = {k: v for k, v in GOOD.items() if k not in ("NODE_ENV", "JWT_SECRET")}
    if environment is not None:
        env["NODE_ENV"] = environment
    with pytest.raises(ConfigError, match="JWT_SECRET is not set") as refused:
        Config.from_env(env)
    assert "NODE_ENV=development or test" in str(refused.value)
    assert Config.from_env({**env, "JWT_SECRET": "x" * 40}).production, "real secrets: production mode"


def test_callbacks_and_webhooks_never_share_a_secret() -> None:
    with pytest.raises(ConfigError, match="CALLBACK_SECRET must differ from WEBHOOK_SECRET"):
        Config.from_env({**GOOD, "CALLBACK_SECRET": GOOD["WEBHOOK_SECRET"]})


def test_the_test_only_crash_switch_is_off_by_default_and_refused_in_production() -> None:
    assert not Config.from_env(GOOD).test_only_exit_after_broadcast
    assert Config.from_env(
        {"NODE_ENV": "test", "TEST_ONLY_EXIT_AFTER_BROADCAST": "1"}
    ).test_only_exit_after_broadcast
    with pytest.raises(ConfigError, match="TEST_ONLY_EXIT_AFTER_BROADCAST is a test-only switch"):
        Config.from_env({**GOOD, "TEST_ONLY_EXIT_AFTER_BROADCAST": "1"})
