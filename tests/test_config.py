import pytest

from config import ConfigError, ProductionConfig, load_config
from portal import create_app

PG = "postgresql+psycopg://portal@127.0.0.1/portal"


@pytest.mark.parametrize("key", [None, "", "change-me", "dev", "short-but-not-default"])
def test_production_refuses_a_missing_default_or_short_secret_key(key):
    env = {"PORTAL_ENV": "production", "DATABASE_URL": PG}
    if key is not None:
        env["SECRET_KEY"] = key

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(load_config(env))


IDENTITY = {"IDENTITY_KEYS": "k1:" + "A" * 43 + "=", "IDENTITY_INDEX_KEY": "i" * 20 + "0a9b8c7d6e5f4g3h"}


def test_production_accepts_a_real_key_and_sets_secure_cookies():
    config = ProductionConfig(
        {"SECRET_KEY": "k" * 20 + "9f8e7d6c5b4a3" + "z" * 10, "DATABASE_URL": PG, **IDENTITY}
    )

    config.validate()

    assert config.SESSION_COOKIE_SECURE is True


def test_production_refuses_sqlite():
    with pytest.raises(ConfigError, match="PostgreSQL"):
        ProductionConfig({"SECRET_KEY": "x9" * 30}).validate()


def test_development_generates_a_key_and_defaults_to_sqlite_under_instance():
    config = load_config({})

    assert len(config.SECRET_KEY) >= 32
    assert config.DATABASE_URL.startswith("sqlite:///") and "instance" in config.DATABASE_URL
    assert config.BABEL_DEFAULT_LOCALE == "zh_CN"
    assert config.PORTAL_TIMEZONE == "Asia/Shanghai"
    assert config.PORTAL_CURRENCY == "CNY"


def test_unknown_environment_name_is_refused():
    with pytest.raises(ConfigError, match="PORTAL_ENV"):
        load_config({"PORTAL_ENV": "staging-ish"})


@pytest.mark.parametrize(
    ("missing", "message"), [("IDENTITY_KEYS", "IDENTITY_KEYS"), ("IDENTITY_INDEX_KEY", "IDENTITY_INDEX_KEY")]
)
def test_production_refuses_to_start_without_identity_keys(missing, message):
    env = {"SECRET_KEY": "x9" * 30, "DATABASE_URL": PG, **IDENTITY}
    del env[missing]

    with pytest.raises(ConfigError, match=message):
        ProductionConfig(env).validate()


@pytest.mark.parametrize("keys", ["k1", "k1:short", "k1:" + "A" * 43 + "=,k1:" + "B" * 43 + "=", "bad id!:x"])
def test_malformed_identity_keys_are_refused(keys):
    with pytest.raises(ConfigError, match="IDENTITY_KEYS"):
        load_config({"IDENTITY_KEYS": keys})
