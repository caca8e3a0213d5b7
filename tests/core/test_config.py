from __future__ import annotations

import base64

import pytest

from core.config import ConfigError, Secret, load_settings

KEY = base64.b64encode(bytes(range(32))).decode()  # fixed, so test ids are stable across xdist workers
PRODUCTION = {
    "LABPULSE_MODE": "production",
    "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "LABPULSE_FIELD_KEYS": f"k1:{KEY}",
    "LABPULSE_LOOKUP_KEY": KEY,
    "LABPULSE_SECRET_KEY": "x" * 40,
}


def test_demo_mode_needs_no_configuration() -> None:
    settings = load_settings({})
    assert settings.mode == "demo"
    assert settings.uses_embedded_services
    assert settings.port == 8000


def test_production_mode_lists_every_missing_secret_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"LABPULSE_MODE": "production"})
    names = [p.split(":")[0] for p in err.value.problems]
    assert names == ["DATABASE_URL", "REDIS_URL", "LABPULSE_FIELD_KEYS", "LABPULSE_LOOKUP_KEY", "LABPULSE_SECRET_KEY"]
    assert "required in production mode" in str(err.value)


def test_complete_production_settings_load() -> None:
    settings = load_settings(PRODUCTION)
    assert settings.field_key_active == "k1"
    assert not settings.uses_embedded_services


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LABPULSE_MODE", "staging", "must be 'demo' or 'production'"),
        ("DATABASE_URL", "mysql://x/y", "scheme must be one of postgres, postgresql"),
        ("REDIS_URL", "http://x", "scheme must be one of redis"),
        ("LABPULSE_PORT", "eighty", "expected a whole number"),
        ("LABPULSE_PORT", "70000", "between 1 and 65535"),
        ("LABPULSE_DB_SCHEMA", "Robert'); DROP", "lower-case SQL identifier"),
        ("LABPULSE_FIELD_KEYS", "k1:not*base64", "not valid base64"),
        ("LABPULSE_FIELD_KEYS", f"k1:{base64.b64encode(b'short').decode()}", "must decode to 32 bytes"),
        ("LABPULSE_FIELD_KEYS", KEY, "each entry must be KEY_ID:BASE64"),
        ("LABPULSE_FIELD_KEY_ACTIVE", "k9", "is not one of the ids"),
        ("LABPULSE_SECRET_KEY", "short", "at least 32 characters"),
        ("LABPULSE_LOG_LEVEL", "loud", "one of debug, info"),
        ("LABPULSE_PHONE_REGION", "india", "two-letter country code"),
        ("LABPULSE_REDIS_SENTINELS", "10.0.0.5:26379,10.0.0.6", "host:port pairs"),
        ("LABPULSE_REDIS_SENTINEL_MASTER", "my master", "a name of letters"),
        ("LABPULSE_FILE_STORE", "s3", "disk or postgres"),
        ("LABPULSE_MLLP_REPORT_MS", "10", "between 100 and 60000"),
        ("LABPULSE_DB_POOLER", "session", "none or transaction"),
        ("LABPULSE_NODE", "web 1", "letters, digits"),
    ],
)
def test_each_bad_value_is_named_with_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**PRODUCTION, name: value})
    matching = [p for p in err.value.problems if p.startswith(name)]
    assert matching, err.value.problems
    assert message in matching[0]


def test_pool_bounds_are_checked_together() -> None:
    with pytest.raises(ConfigError, match="larger than LABPULSE_DB_POOL_MAX"):
        load_settings({**PRODUCTION, "LABPULSE_DB_POOL_MIN": "30", "LABPULSE_DB_POOL_MAX": "5"})


def test_secrets_never_print() -> None:
    settings = load_settings(PRODUCTION)
    text = repr(settings)
    assert KEY not in text and "127.0.0.1:5432" not in text
    assert repr(Secret("hunter2")) == "Secret('**********')"


def test_sentinels_and_the_file_store_are_read() -> None:
    env = {"LABPULSE_REDIS_SENTINELS": "10.0.0.5:26379, [::1]:26380", "LABPULSE_REDIS_SENTINEL_MASTER": "lab-redis",
           "LABPULSE_FILE_STORE": "postgres"}  # fmt: skip
    settings = load_settings({**PRODUCTION, **env})
    assert settings.redis_sentinels == (("10.0.0.5", 26379), ("::1", 26380))
    assert (settings.redis_sentinel_master, settings.file_store) == ("lab-redis", "postgres")


def test_a_transaction_pooler_asks_for_the_sessions_it_cannot_carry() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**PRODUCTION, "LABPULSE_DB_POOLER": "transaction"})
    named = {p.split(":")[0] for p in err.value.problems}
    assert named == {"LABPULSE_MIGRATION_DATABASE_URL", "LABPULSE_LISTEN_DATABASE_URL"}
