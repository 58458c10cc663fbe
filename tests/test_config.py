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
            **PRODUCTION_SMS,
        }
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/portal"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert config["SESSION_COOKIE_SECURE"] and config["HSTS"] and config["PROXY_HOPS"] == 1


PRODUCTION_SMS = {
    "SMS_BACKEND": "http",
    "SMS_GATEWAY_URL": "https://sms.example.cn/v1/messages",
    "SMS_GATEWAY_TOKEN": "t" * 40,
}
PRODUCTION_SECRETS = {"PORTAL_ENV": "production", "SECRET_KEY": "s" * 40, "ID_HASH_KEY": "h" * 40}


@pytest.mark.parametrize("backend", [None, "console", "database"])
def test_production_sends_text_messages_through_the_gateway_only(backend):
    # The console would put one-time codes in the logs; the database backend sends nothing.
    environ = {**PRODUCTION_SECRETS, **({"SMS_BACKEND": backend} if backend else {})}
    with pytest.raises(ConfigError, match="SMS_BACKEND must be http"):
        load(environ)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"SMS_GATEWAY_URL": None}, "needs SMS_GATEWAY_URL"),
        ({"SMS_GATEWAY_TOKEN": None}, "needs SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN"),
        ({"SMS_GATEWAY_URL": "http://sms.example.cn/v1"}, "must be https"),
        ({"SMS_BACKEND": "carrier-pigeon"}, "must be one of console, database, http"),
    ],
)
def test_a_gateway_needs_an_https_address_and_a_token(settings, problem):
    environ = {k: v for k, v in {**PRODUCTION_SECRETS, **PRODUCTION_SMS, **settings}.items() if v is not None}
    with pytest.raises(ConfigError, match=problem):
        load(environ)


def test_development_prints_text_messages_and_keeps_evidence_in_the_database(tmp_path):
    config = load({}, instance_path=tmp_path)
    assert config["SMS_BACKEND"] == "console"
    assert config["EVIDENCE_STORE"] == "database"


def test_an_object_store_for_evidence_needs_a_bucket(tmp_path):
    with pytest.raises(ConfigError, match="EVIDENCE_S3_BUCKET"):
        load({"EVIDENCE_STORE": "s3"}, instance_path=tmp_path)


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


def test_production_refuses_to_start_without_redis(monkeypatch):
    """Without Redis every gunicorn worker would keep its own request-rate limits."""
    for name, value in {**PRODUCTION_SECRETS, **PRODUCTION_SMS}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="REDIS_URL must be set in production"):
        create_app()


def test_development_and_tests_keep_rate_limits_in_memory(tmp_path):
    assert load({}, instance_path=tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"
    assert load({"PORTAL_ENV": "testing"}, instance_path=tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"
