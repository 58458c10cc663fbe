"""Reminder links and identity verification. No request objects here: views pass plain values."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from portal import audit
from portal.access import throttle
from portal.database import updated
from portal.extensions import db
from portal.models import (
    LINK_LIFETIME_DAYS,
    Account,
    Borrower,
    CounterKind,
    LinkChannel,
    ReminderLink,
    SignInMethod,
)
from portal.models.types import utcnow
from portal.outbox.events import emit

# 12 random bytes = 96 bits, which base64url writes in exactly 16 characters: SMS-short.
CODE_BYTES = 12


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_link(
    account: Account,
    *,
    locale: str | None = None,
    expires_days: int | None = None,
    channel: LinkChannel = LinkChannel.SMS,
    actor_type: str = "system",
    actor_id: object = None,
) -> tuple[ReminderLink, str]:
    """Mint a reminder link; return it with its code, which exists nowhere else afterwards."""
    days = expires_days or current_app.config["LINK_DEFAULT_EXPIRY_DAYS"]
    if days not in LINK_LIFETIME_DAYS:
        raise ValueError(f"a link lasts between {LINK_LIFETIME_DAYS.start} and {LINK_LIFETIME_DAYS.stop - 1} days")
    code = secrets.token_urlsafe(CODE_BYTES)
    link = ReminderLink(
        code_hash=hash_code(code),
        account=account,
        # The page opens in the borrower's own language unless the sender chose another.
        locale=locale or account.borrower.locale,
        channel=channel,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(link)
    db.session.flush()
    audit.record(
        "link.created",
        actor_type=actor_type,
        actor_id=actor_id,
        subject=link,
        expires_at=link.expires_at.isoformat(),
        channel=channel,
    )
    return link, code


def link_url(code: str) -> str:
    return f"{current_app.config['PORTAL_BASE_URL']}/r/{code}"


def revoke_link(link: ReminderLink, *, actor_type: str, actor_id: object = None) -> None:
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        audit.record("link.revoked", actor_type=actor_type, actor_id=actor_id, subject=link)


@dataclass(frozen=True)
class LinkLookup:
    """What a code leads to. ``problem`` is None, "unknown", "expired" or "revoked"."""

    link: ReminderLink | None
    problem: str | None


def look_up_link(code: str) -> LinkLookup:
    # Codes have a fixed alphabet and length; anything else is not worth a query.
    if not code or len(code) > 32:
        return LinkLookup(None, "unknown")
    link = db.session.execute(
        select(ReminderLink).where(ReminderLink.code_hash == hash_code(code))
    ).scalar_one_or_none()
    if link is None:
        return LinkLookup(None, "unknown")
    if link.revoked_at is not None:
        return LinkLookup(link, "revoked")
    if link.expires_at <= utcnow():
        return LinkLookup(link, "expired")
    return LinkLookup(link, None)


def get_usable_link(link_id: int | None) -> ReminderLink | None:
    """The link a browser session came from, if it still works."""
    if link_id is None:
        return None
    link = db.session.get(ReminderLink, link_id)
    if link is None or link.revoked_at is not None or link.expires_at <= utcnow():
        return None
    return link


def record_open(link: ReminderLink) -> None:
    """Count that someone began verifying (never on GET: scanners that pre-fetch change nothing).

    ``opened_count`` counts the browsers that began; the ``link.opened`` event and its audit
    record happen once per link, for the first of them, however many browsers follow.
    """
    now = utcnow()
    first = updated(
        db.session.execute(
            update(ReminderLink)
            .where(ReminderLink.id == link.id, ReminderLink.opened_count == 0)
            .values(opened_count=1, last_opened_at=now)
        )
    )
    if not first:
        db.session.execute(
            update(ReminderLink)
            .where(ReminderLink.id == link.id)
            .values(opened_count=ReminderLink.opened_count + 1, last_opened_at=now)
        )
        return
    audit.record("link.opened", actor_type="borrower", subject=link)
    emit("link.opened", lender_id=link.account.lender_id, account=link.account, data={"channel": link.channel})


@dataclass(frozen=True)
class Verification:
    """The outcome of one attempt: a borrower, or tries left, or a lock with its end.

    ``locked_by`` says whose lock it is: "account" (wrong answers for this account or this
    person) or "network" (many failures from this address, perhaps by strangers sharing it).
    """

    borrower: Borrower | None = None
    tries_left: int | None = None
    locked_until: datetime | None = None
    locked_by: str | None = None

    @property
    def lock_minutes(self) -> int:
        rule = throttle.PER_ADDRESS if self.locked_by == "network" else throttle.PER_ACCOUNT
        return rule.lock_minutes


def account_key(account: Account) -> throttle.Key:
    return (CounterKind.ACCOUNT, str(account.id))


def _person_subject(national_id_hash: str, date_of_birth: date) -> str:
    # The same person at every lender: the ID hash is keyed with one ID_HASH_KEY for all.
    return hashlib.sha256(f"{national_id_hash}:{date_of_birth.isoformat()}".encode()).hexdigest()


def person_key(borrower: Borrower) -> throttle.Key:
    return (CounterKind.PERSON, _person_subject(borrower.national_id_hash, borrower.date_of_birth))


def address_key(ip: str) -> throttle.Key:
    return (CounterKind.ADDRESS, ip[:128])


def _lock_outcome(counts: list[throttle.Count]) -> Verification:
    """Whose lock to show: the person's own (account or person) before the network's."""
    own = [c.locked_until for c in counts if c.kind != CounterKind.ADDRESS and c.locked_until]
    if own:
        return Verification(locked_until=max(own), locked_by="account")
    network = [c.locked_until for c in counts if c.locked_until]
    return Verification(locked_until=max(network) if network else None, locked_by="network")


def current_lock(account: Account | None, ip: str) -> Verification | None:
    """A lock already in force, so the page can say so before anyone types anything."""
    keys = [address_key(ip)]
    if account is not None:
        keys += [account_key(account), person_key(account.borrower)]
    locked = throttle.locks_in_force(keys)
    return _lock_outcome(locked) if locked else None


def _answers_match(expected_dob: date, expected_last4: str, date_of_birth: date, id_last4: str) -> bool:
    # Compare both parts every time, in constant time, so timing reveals nothing.
    dob_ok = hmac.compare_digest(expected_dob.isoformat(), date_of_birth.isoformat())
    id_ok = hmac.compare_digest(expected_last4, id_last4.upper())
    return dob_ok and id_ok


@dataclass(frozen=True)
class _Candidate:
    """Whose answers an attempt may be: a real account, or a stand-in for a number nobody has,
    which costs exactly the same work and never matches."""

    account: Account | None
    account_key: throttle.Key
    person_key: throttle.Key
    expected_dob: date
    expected_last4: str


# A stand-in's answers: no date of birth can match a date in year 1, nor last 4 "----".
_NOBODY_DOB = date(1, 1, 1)
_NOBODY_LAST4 = "----"


def _candidate(account: Account) -> _Candidate:
    borrower = account.borrower
    return _Candidate(
        account, account_key(account), person_key(borrower), borrower.date_of_birth, borrower.national_id_last4
    )


def _nobody(account_number: str, date_of_birth: date) -> _Candidate:
    # The form allows at most 64 characters: the number fits the subject as typed.
    return _Candidate(
        None,
        (CounterKind.ACCOUNT, f"unknown:{account_number[:100]}"),
        (CounterKind.PERSON, _person_subject(f"unknown:{account_number}", date_of_birth)),
        _NOBODY_DOB,
        _NOBODY_LAST4,
    )


def _attempt(
    candidates: list[_Candidate],
    date_of_birth: date,
    id_last4: str,
    ip: str,
    *,
    method: SignInMethod,
    link: ReminderLink | None = None,
) -> Verification:
    """One attempt: decide and charge every lock first, then compare the answers.

    Every candidate account, every candidate person and the address are charged before any
    comparison, so no comparison can choose whose lock applies; a lock in force on any of them
    refuses the attempt without comparing. Every attempt is audited.
    """
    keys = [key for c in candidates for key in (c.account_key, c.person_key)] + [address_key(ip)]

    def record(action: str, **details) -> None:
        for c in candidates:
            audit.record(action, actor_type="borrower", subject=link or c.account, ip=ip, method=method, **details)

    in_force = throttle.locks_in_force(keys)
    if in_force:
        outcome = _lock_outcome(in_force)
        record("verification.refused", locked_by=outcome.locked_by)
        return outcome
    counts = throttle.charge(keys)
    over = [c for c in counts if not c.allowed]
    if over:  # a parallel attempt got there first
        outcome = _lock_outcome(over)
        record("verification.refused", locked_by=outcome.locked_by)
        return outcome

    # Every candidate is compared, whatever the first gave: the same work for every answer.
    matches = [c for c in candidates if _answers_match(c.expected_dob, c.expected_last4, date_of_birth, id_last4)]
    found = next((c for c in matches if c.account is not None), None)
    if found is not None and found.account is not None:
        account = found.account
        borrower = account.borrower
        throttle.settle_success(reset=[found.account_key, found.person_key], refund=[address_key(ip)])
        audit.record(
            "borrower.signed_in", actor_type="borrower", actor_id=borrower.id, subject=borrower, ip=ip, method=method
        )
        emit("borrower.signed_in", lender_id=borrower.lender_id, account=account, data={"method": method})
        return Verification(borrower=borrower)

    locks = [c for c in counts if c.locked_until is not None]
    record("verification.failed", locked=bool(locks))
    if locks:
        return _lock_outcome(locks)
    return Verification(tries_left=min(c.tries_left for c in counts if c.kind != CounterKind.ADDRESS))


def verify_link(link: ReminderLink, date_of_birth: date, id_last4: str, ip: str) -> Verification:
    return _attempt([_candidate(link.account)], date_of_birth, id_last4, ip, method=SignInMethod.LINK, link=link)


def verify_account_number(account_number: str, date_of_birth: date, id_last4: str, ip: str) -> Verification:
    """Direct sign-in. An unknown number fails exactly like a wrong answer, with the same work.

    The same number can exist at two lenders: every such account is a candidate, charged alike.
    """
    matches = (
        db.session.execute(
            select(Account)
            .options(joinedload(Account.borrower))
            .where(Account.account_number == account_number)
            .order_by(Account.id)
        )
        .scalars()
        .all()
    )
    candidates = [_candidate(a) for a in matches] or [_nobody(account_number, date_of_birth)]
    return _attempt(candidates, date_of_birth, id_last4, ip, method=SignInMethod.SIGN_IN)


@dataclass(frozen=True)
class LockStatus:
    """An account's verification counters, for staff and the CLI."""

    account: Account
    locked_until: datetime | None
    account_failures: int
    person_failures: int
    counters: list[throttle.Count]


def lock_status(account: Account) -> LockStatus:
    """Whether checking is paused for this account (its own lock or its person's), until when,
    and how many unsuccessful tries each counter holds now."""
    counts = throttle.counters([account_key(account), person_key(account.borrower)])
    now = utcnow()
    locks = [c.locked_until for c in counts if c.locked_until and c.locked_until > now]
    failures = {c.kind: min(c.failures, c.rule.max_failures) for c in counts}
    return LockStatus(
        account=account,
        locked_until=max(locks) if locks else None,
        account_failures=failures.get(CounterKind.ACCOUNT, 0),
        person_failures=failures.get(CounterKind.PERSON, 0),
        counters=counts,
    )


def unlock(account: Account, by_whom: str, reason: str, *, actor_type: str = "staff") -> LockStatus:
    """Clear the account's and its person's counters after staff checked who is asking.

    Audited with who and why, even when nothing was locked.
    """
    if not reason.strip():
        raise ValueError("a reason is required to clear a lock")
    before = lock_status(account)
    cleared = throttle.clear([account_key(account), person_key(account.borrower)])
    audit.record(
        "verification.unlocked",
        actor_type=actor_type,
        actor_id=by_whom,
        subject=account,
        reason=reason.strip(),
        was_locked_until=before.locked_until.isoformat() if before.locked_until else None,
        counters_cleared=cleared,
    )
    return before


def remember_locale(borrower_id: int, locale: str) -> None:
    """The language the borrower chose, for their next visit on any device (the caller commits)."""
    db.session.execute(update(Borrower).where(Borrower.id == borrower_id).values(locale=locale))
