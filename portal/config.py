"""Every setting comes from the environment, and only from here.

The embedded default (no variable set at all) is a development setup: SQLite under
``instance/``, in-process rate limits, SMS codes printed to the console. Production
(``PORTAL_ENV=production``, which ``wsgi.py`` assumes) refuses to start without real
secrets instead of falling back to a guessable one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a safe configuration."""


def _database_url(raw: str | None, instance_path: Path) -> str:
    if not raw:
        return f"sqlite:///{instance_path / 'portal.sqlite3'}"
    # Heroku-style URLs and bare "postgresql://" must both reach psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _development_secret(instance_path: Path, name: str) -> str:
    """A random secret kept in instance/ so that a demo restart keeps sessions and ID hashes.

    Only ever used outside production; production must provide its secrets.
    """
    path = instance_path / f"{name}.secret"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


SMS_BACKENDS = ("console", "database", "http")


def _sms_settings(env: dict[str, str], production: bool) -> dict:
    """Production sends through the HTTP gateway only: the console would put one-time codes in
    the logs and the database backend would keep them from the people who need them."""
    backend = env.get("SMS_BACKEND", "console")
    if backend not in SMS_BACKENDS:
        raise ConfigError(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}, not {backend!r}")
    url, token = env.get("SMS_GATEWAY_URL"), env.get("SMS_GATEWAY_TOKEN")
    if production and backend != "http":
        raise ConfigError("SMS_BACKEND must be http in production (console and database send nothing)")
    if backend == "http":
        if not url or not token:
            raise ConfigError("SMS_BACKEND=http needs SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN")
        if production and not url.startswith("https://"):
            raise ConfigError("SMS_GATEWAY_URL must be https in production")
    return {
        "SMS_BACKEND": backend,
        "SMS_GATEWAY_URL": url,
        "SMS_GATEWAY_TOKEN": token,
        "SMS_GATEWAY_TIMEOUT_SECONDS": float(env.get("SMS_GATEWAY_TIMEOUT_SECONDS", "5")),
    }


EVIDENCE_STORES = ("database", "s3")


def _evidence_settings(env: dict[str, str]) -> dict:
    """Evidence files live in the database unless an S3-compatible store is named; its
    credentials come from boto3's usual variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)."""
    store = env.get("EVIDENCE_STORE", "database")
    if store not in EVIDENCE_STORES:
        raise ConfigError(f"EVIDENCE_STORE must be one of {', '.join(EVIDENCE_STORES)}, not {store!r}")
    bucket = env.get("EVIDENCE_S3_BUCKET")
    if store == "s3" and not bucket:
        raise ConfigError("EVIDENCE_STORE=s3 needs EVIDENCE_S3_BUCKET")
    return {
        "EVIDENCE_STORE": store,
        "EVIDENCE_S3_BUCKET": bucket,
        # Another S3-compatible service (MinIO, Ceph, a cloud's own): its endpoint URL.
        "EVIDENCE_S3_ENDPOINT_URL": env.get("EVIDENCE_S3_ENDPOINT_URL"),
        "EVIDENCE_S3_REGION": env.get("EVIDENCE_S3_REGION"),
        "EVIDENCE_S3_PREFIX": env.get("EVIDENCE_S3_PREFIX", "evidence/"),
    }


def load(environ: dict[str, str] | None = None, instance_path: Path | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if environ is None else environ)
    instance_path = instance_path or ROOT / "instance"
    mode = env.get("PORTAL_ENV", "development")
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"PORTAL_ENV must be development, production or testing, not {mode!r}")
    production = mode == "production"

    secret_key = env.get("SECRET_KEY")
    id_hash_key = env.get("ID_HASH_KEY")
    if production:
        for name, value in (("SECRET_KEY", secret_key), ("ID_HASH_KEY", id_hash_key)):
            if not value or len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"{name} must be set to a random value of at least {MIN_SECRET_LENGTH} "
                    "characters in production (e.g. python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')"
                )
    elif mode == "testing":
        secret_key = secret_key or secrets.token_urlsafe(48)
        id_hash_key = id_hash_key or "testing-id-hash-key-not-secret-0000000"
    else:
        secret_key = secret_key or _development_secret(instance_path, "secret_key")
        id_hash_key = id_hash_key or _development_secret(instance_path, "id_hash_key")

    sms = _sms_settings(env, production)
    evidence = _evidence_settings(env)
    redis_url = env.get("REDIS_URL")
    if production and not redis_url:
        raise ConfigError(
            "REDIS_URL must be set in production (e.g. redis://127.0.0.1:6379/0): without it every "
            "worker keeps its own request-rate limits, so each limit is multiplied by the number of workers"
        )
    return {
        **sms,
        **evidence,
        "PORTAL_ENV": mode,
        "TESTING": mode == "testing",
        "SECRET_KEY": secret_key,
        "ID_HASH_KEY": id_hash_key,
        "SQLALCHEMY_DATABASE_URI": _database_url(env.get("DATABASE_URL"), instance_path),
        # No pre-ping: it is one more round trip on every request. A connection lost with a
        # database restart fails that request with a "try again" page and empties the pool
        # (errors.py), so the next request reconnects.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "PORTAL_BASE_URL": env.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Request-rate limits must be shared by every worker: Redis in production (required
        # there). Verification lockouts live in the database (access/throttle.py).
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "portal"),
        "RATELIMIT_HEADERS_ENABLED": False,
        # Request-rate limits fail open when Redis is down (logged); the verification lockout
        # does not depend on Redis at all, so guessing never gets easier.
        "RATELIMIT_SWALLOW_ERRORS": True,
        "REDIS_URL": redis_url,
        # Number of trusted reverse proxies in front of the app (X-Forwarded-For hops).
        "PROXY_HOPS": int(env.get("PROXY_HOPS", "1" if production else "0")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "portal_session",
        "REMEMBER_COOKIE_DURATION": 0,
        "IDLE_TIMEOUT_SECONDS": int(env.get("IDLE_TIMEOUT_SECONDS", "900")),
        "WTF_CSRF_TIME_LIMIT": None,  # the session's idle timeout already bounds a form's life
        "HSTS": production,
        "BABEL_DEFAULT_LOCALE": "zh_Hans",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "LINK_DEFAULT_EXPIRY_DAYS": int(env.get("LINK_DEFAULT_EXPIRY_DAYS", "14")),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "COMPRESS_ALGORITHM": ["br", "gzip"],
        # Brotli's fastest level: 20 µs for a page instead of 65 µs at the default level 4,
        # for about 300 more bytes on a 2 KB compressed page.
        "COMPRESS_BR_LEVEL": 1,
        # Pages are no-store and carry no ETag, so there is nothing to compare a request with.
        "COMPRESS_EVALUATE_CONDITIONAL_REQUEST": False,
        # Flask-Compress leaves streamed files (static assets) unclosed; leave those to the
        # proxy, which serves static files in production anyway.
        "COMPRESS_STREAMS": False,
        "COMPRESS_MIMETYPES": [
            "text/html",
            "text/css",
            "application/javascript",
            "application/json",
            "application/problem+json",
            "image/svg+xml",
        ],
        # Templates compiled once per language with their fixed strings translated in
        # (portal/templating.py); "0" renders with stock Flask-Babel and Jinja instead.
        "PRECOMPILED_TRANSLATIONS": env.get("PRECOMPILED_TRANSLATIONS", "1") != "0",
        # Stripe: real in production; `portal demo` starts localstripe when no key is set.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY"),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY"),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET"),
        # Another Stripe-compatible server (localstripe): the SDK and the page script use it.
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE"),
        # A payment the webhook has not confirmed after this long is listed for staff.
        "PAYMENT_CONFIRMATION_MINUTES": int(env.get("PAYMENT_CONFIRMATION_MINUTES", "30")),
        # Outbound webhooks may go to http and private addresses only outside production
        # (local receivers in development and tests); production refuses them (SSRF).
        "OUTBOX_ALLOW_PRIVATE_URLS": not production,
        "OUTBOX_TIMEOUT_SECONDS": float(env.get("OUTBOX_TIMEOUT_SECONDS", "10")),
    }
