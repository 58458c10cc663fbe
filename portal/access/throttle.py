"""Counting verification attempts and locking out: the rules, and their authoritative record.

The counts and locks live in the database (``verification_counter``), so they hold across every
worker and machine in every configuration, survive a Redis restart, and staff can see and
clear them. Redis (Flask-Limiter) keeps only the plain request-rate limits.

An attempt is charged *before* the answers are compared: one statement adds one to every
counter the attempt touches (INSERT … ON CONFLICT DO UPDATE … RETURNING, atomic on SQLite and
PostgreSQL), and the answers are compared only if every counter is still within its limit. So
parallel guesses cannot slip past the limit, and no comparison decides whose lock applies. A
success then gives the charge back (``settle_success``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, case, delete, literal, null, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.database import updated
from portal.extensions import db
from portal.models import CounterKind, VerificationCounter
from portal.models.types import UTCDateTime, utcnow


@dataclass(frozen=True)
class Rule:
    kind: CounterKind
    max_failures: int
    window: timedelta
    lock: timedelta

    @property
    def lock_minutes(self) -> int:
        return int(self.lock.total_seconds() // 60)

    @property
    def window_minutes(self) -> int:
        return int(self.window.total_seconds() // 60)


# After 5 unsuccessful tries for one account (via any of its links or the sign-in form), or for
# one person across all their accounts, checking pauses for 30 minutes. One address may fail 50
# times an hour across all accounts: mobile carriers put many phones behind one address
# (CGNAT), so the limit must leave room for strangers' mistakes while still stopping anyone
# walking through many links. Templates, README and CLI take their numbers from here.
PER_ACCOUNT = Rule(CounterKind.ACCOUNT, max_failures=5, window=timedelta(minutes=30), lock=timedelta(minutes=30))
PER_PERSON = Rule(CounterKind.PERSON, max_failures=5, window=timedelta(minutes=30), lock=timedelta(minutes=30))
PER_ADDRESS = Rule(CounterKind.ADDRESS, max_failures=50, window=timedelta(hours=1), lock=timedelta(hours=1))
# Staff sign-in (portal/staff): 5 wrong passwords or second-factor codes for one username, and
# that username waits 30 minutes; the address counter above applies to staff attempts too.
PER_STAFF = Rule(CounterKind.STAFF, max_failures=5, window=timedelta(minutes=30), lock=timedelta(minutes=30))
RULES = {rule.kind: rule for rule in (PER_ACCOUNT, PER_PERSON, PER_ADDRESS, PER_STAFF)}

Key = tuple[CounterKind, str]
_TABLE = cast(Table, VerificationCounter.__table__)


@dataclass(frozen=True)
class Count:
    """One counter after an attempt was charged (or as it stands)."""

    kind: CounterKind
    subject: str
    failures: int
    locked_until: datetime | None

    @property
    def rule(self) -> Rule:
        return RULES[self.kind]

    @property
    def allowed(self) -> bool:
        """This attempt is within the limit (the last allowed one sets the lock, provisionally)."""
        return self.failures <= self.rule.max_failures

    @property
    def tries_left(self) -> int:
        return max(self.rule.max_failures - self.failures, 0)


def _insert(dialect: str):
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


def _per_kind(now: datetime, value) -> object:
    """A CASE over the counter's kind, with each rule's value (a limit or a time)."""
    table = _TABLE
    whens = [(table.c.kind == kind.value, value(rule, now)) for kind, rule in RULES.items()]
    return case(*whens)


def charge(keys: Iterable[Key]) -> list[Count]:
    """Add one attempt to every counter named, atomically, and return them all.

    Within a counter's window the count goes up by one; the attempt that reaches the limit sets
    the lock (and the window becomes the lock's length); once the window (or lock) is over the
    count starts again at one. Keys are charged in a fixed order, so two requests charging the
    same counters never wait for each other in a cycle.
    """
    unique = sorted(set(keys))
    if not unique:
        return []
    now = utcnow()
    table = _TABLE
    insert = _insert(db.engine.dialect.name)(table).values(
        [
            {"kind": kind.value, "subject": subject, "failures": 1, "window_ends_at": now + RULES[kind].window}
            for kind, subject in unique
        ]
    )
    over = table.c.window_ends_at <= now
    limit = _per_kind(now, lambda rule, _now: rule.max_failures)
    lock_end = _per_kind(now, lambda rule, at: literal(at + rule.lock, UTCDateTime))
    reaches = table.c.failures + 1 == limit
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.subject],
        set_={
            "failures": case((over, 1), else_=table.c.failures + 1),
            "locked_until": case((over, null()), (reaches, lock_end), else_=table.c.locked_until),
            "window_ends_at": case(
                (over, insert.excluded.window_ends_at), (reaches, lock_end), else_=table.c.window_ends_at
            ),
        },
    ).returning(table.c.kind, table.c.subject, table.c.failures, table.c.locked_until)
    rows = db.session.execute(statement).all()
    return sorted((Count(CounterKind(k), s, f, u) for k, s, f, u in rows), key=lambda c: (c.kind, c.subject))


def locks_in_force(keys: Iterable[Key]) -> list[Count]:
    """The counters among these whose lock is in force now (one query, whatever the number)."""
    unique = sorted(set(keys))
    if not unique:
        return []
    table = _TABLE
    rows = db.session.execute(
        select(table.c.kind, table.c.subject, table.c.failures, table.c.locked_until).where(
            tuple_(table.c.kind, table.c.subject).in_([(k.value, s) for k, s in unique]),
            table.c.locked_until > utcnow(),
        )
    ).all()
    return [Count(CounterKind(k), s, f, u) for k, s, f, u in rows]


def settle_success(reset: Iterable[Key], refund: Iterable[Key]) -> None:
    """The answers were right: the counters in ``reset`` start afresh (the account and person
    proved), those in ``refund`` get this attempt back (the address: only failures count)."""
    table = _TABLE
    reset_keys = [(k.value, s) for k, s in set(reset)]
    if reset_keys:
        db.session.execute(delete(table).where(tuple_(table.c.kind, table.c.subject).in_(reset_keys)))
    now = utcnow()
    limit = _per_kind(now, lambda rule, _now: rule.max_failures)
    for kind, subject in set(refund):
        db.session.execute(
            update(table)
            .where(table.c.kind == kind.value, table.c.subject == subject, table.c.failures > 0)
            .values(
                failures=table.c.failures - 1,
                # The lock this very attempt set, provisionally, is lifted again.
                locked_until=case((table.c.failures - 1 < limit, null()), else_=table.c.locked_until),
            )
        )


def counters(keys: Iterable[Key]) -> list[Count]:
    """The counters as they stand, with their failures and lock (for staff and the CLI)."""
    unique = sorted(set(keys))
    if not unique:
        return []
    table = _TABLE
    now = utcnow()
    rows = db.session.execute(
        select(table.c.kind, table.c.subject, table.c.failures, table.c.locked_until).where(
            tuple_(table.c.kind, table.c.subject).in_([(k.value, s) for k, s in unique]),
            # While locked, the window is the lock: one condition covers both.
            table.c.window_ends_at > now,
        )
    ).all()
    return [Count(CounterKind(k), s, f, u) for k, s, f, u in rows]


def clear(keys: Iterable[Key]) -> int:
    """Remove these counters (and their locks); return how many there were."""
    table = _TABLE
    unique = [(k.value, s) for k, s in set(keys)]
    if not unique:
        return 0
    return updated(db.session.execute(delete(table).where(tuple_(table.c.kind, table.c.subject).in_(unique))))


def prune() -> int:
    """Delete the counters whose window (and lock) is over; return how many."""
    table = _TABLE
    return updated(db.session.execute(delete(table).where(table.c.window_ends_at <= utcnow())))
