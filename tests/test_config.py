import pytest

from portal import create_app
from portal.config import ConfigError, load


@pytest.mark.parametrize("secret", [None, "", "short-secret"])
def test_production_refuses_to_start_without_a_strong_secret_key(monkeypatch, secret):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("ID_HASH_KEY", "h" * 40)
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_needs_its_own_id_hash_key():
    with pytest.raises(ConfigError, match="ID_HASH_KEY"):
        load({"PORTAL_ENV": "production", "SECRET_KEY": "s" * 40})


def test_production_settings():
    config = load(
        {
            "PORTAL_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "ID_HASH_KEY": "h" * 40,
            "DATABASE_URL": "postgres://u@db/portal",
            "REDIS_URL": "redis://cache:6379/0",
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/portal"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert config["SESSION_COOKIE_SECURE"] and config["HSTS"] and config["PROXY_HOPS"] == 1


def test_embedded_default_needs_no_variable_and_keeps_its_secrets(tmp_path):
    first = load({}, instance_path=tmp_path)
    second = load({}, instance_path=tmp_path)
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert first["RATELIMIT_STORAGE_URI"] == "memory://"
    assert len(first["SECRET_KEY"]) >= 32
    # A restart of the demo keeps sessions and, above all, the ID hashes valid.
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["ID_HASH_KEY"] == second["ID_HASH_KEY"] != first["SECRET_KEY"]


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError):
        load({"PORTAL_ENV": "prod"})
