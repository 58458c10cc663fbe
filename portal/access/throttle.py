"""Counting failed verifications and locking out, shared by every worker.

Built on the storage of Flask-Limiter (the ``limits`` library): Redis in production, the
process's memory for the embedded default. Only failures count; a success clears the
counter. When the store cannot be reached, verification fails closed: ``Unavailable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app

from portal.extensions import limiter


class Unavailable(RuntimeError):
    """The lockout store cannot be reached; nobody may verify until it can."""


@dataclass(frozen=True)
class Rule:
    name: str
    max_failures: int
    window_seconds: int
    lock_seconds: int


# After 5 wrong answers for one account (via any of its links or the sign-in form), checking
# pauses for 30 minutes. One address may fail 50 times an hour across all accounts: mobile
# carriers put many phones behind one address (CGNAT), so the limit must leave room for
# strangers' mistakes while still stopping anyone walking through many links.
PER_ACCOUNT = Rule("account", max_failures=5, window_seconds=30 * 60, lock_seconds=30 * 60)
PER_IP = Rule("ip", max_failures=50, window_seconds=60 * 60, lock_seconds=60 * 60)


def _storage():
    return limiter.storage


def _keys(rule: Rule, subject: str) -> tuple[str, str]:
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    return f"{prefix}/lockout/{rule.name}/{subject}/fails", f"{prefix}/lockout/{rule.name}/{subject}/lock"


def locked_until(rule: Rule, subject: str) -> datetime | None:
    _, lock_key = _keys(rule, subject)
    try:
        storage = _storage()
        if storage.get(lock_key) > 0:
            return datetime.fromtimestamp(storage.get_expiry(lock_key), UTC)
    except Exception as exc:  # any storage error: redis.ConnectionError, TimeoutError…
        raise Unavailable(str(exc)) from exc
    return None


def record_failure(rule: Rule, subject: str) -> tuple[int, datetime | None]:
    """Count one failure; return (tries left, locked until)."""
    fails_key, lock_key = _keys(rule, subject)
    try:
        storage = _storage()
        failures = storage.incr(fails_key, rule.window_seconds)
        if failures >= rule.max_failures:
            storage.incr(lock_key, rule.lock_seconds)
            storage.clear(fails_key)
            return 0, datetime.fromtimestamp(storage.get_expiry(lock_key), UTC)
    except Exception as exc:
        raise Unavailable(str(exc)) from exc
    return rule.max_failures - failures, None


def clear(rule: Rule, subject: str) -> None:
    fails_key, _ = _keys(rule, subject)
    try:
        _storage().clear(fails_key)
    except Exception as exc:
        raise Unavailable(str(exc)) from exc
