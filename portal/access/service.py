"""Reminder links and identity verification. No request objects here: views pass plain values."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from portal import audit
from portal.access import throttle
from portal.extensions import db
from portal.models import LINK_LIFETIME_DAYS, Account, Borrower, LinkChannel, ReminderLink, SignInMethod
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
    """Count that someone began verifying (never on GET: scanners that pre-fetch change nothing)."""
    link.opened_count += 1
    link.last_opened_at = utcnow()
    audit.record("link.opened", actor_type="borrower", subject=link, opened_count=link.opened_count)
    emit(
        "link.opened",
        lender_id=link.account.lender_id,
        account=link.account,
        data={"channel": link.channel, "opened_count": link.opened_count},
    )


@dataclass(frozen=True)
class Verification:
    """The outcome of one attempt: a borrower, or tries left, or a lock with its end.

    ``locked_by`` says whose lock it is: "account" (wrong answers for this account) or
    "network" (many failures from this address, perhaps by strangers sharing it).
    """

    borrower: Borrower | None = None
    tries_left: int | None = None
    locked_until: datetime | None = None
    locked_by: str | None = None


def _account_key(account: Account) -> str:
    return f"{account.lender_id}:{account.account_number}"


def _lock_in_force(account_key: str | None, ip: str) -> Verification | None:
    checks = [(throttle.PER_ACCOUNT, account_key, "account"), (throttle.PER_IP, ip, "network")]
    for rule, key, whose in checks:
        if key is None:
            continue
        until = throttle.locked_until(rule, key)
        if until:
            return Verification(locked_until=until, locked_by=whose)
    return None


def current_lock(account: Account | None, ip: str) -> Verification | None:
    """A lock already in force, so the page can say so before anyone types anything."""
    return _lock_in_force(_account_key(account) if account else None, ip)


def _answers_match(borrower: Borrower, date_of_birth: date, id_last4: str) -> bool:
    # Compare both parts every time, in constant time, so timing reveals nothing.
    dob_ok = hmac.compare_digest(borrower.date_of_birth.isoformat(), date_of_birth.isoformat())
    id_ok = hmac.compare_digest(borrower.national_id_last4, id_last4.upper())
    return dob_ok and id_ok


def _verify(
    account_key: str,
    borrower: Borrower | None,
    date_of_birth: date,
    id_last4: str,
    ip: str,
    *,
    method: SignInMethod,
    subject,
) -> Verification:
    locked = _lock_in_force(account_key, ip)
    if locked:
        return locked

    if borrower is not None and _answers_match(borrower, date_of_birth, id_last4):
        throttle.clear(throttle.PER_ACCOUNT, account_key)
        audit.record(
            "borrower.signed_in", actor_type="borrower", actor_id=borrower.id, subject=borrower, ip=ip, method=method
        )
        emit(
            "borrower.signed_in",
            lender_id=borrower.lender_id,
            account=subject if isinstance(subject, Account) else subject.account,
            data={"method": method},
        )
        return Verification(borrower=borrower)

    tries_left, account_lock = throttle.record_failure(throttle.PER_ACCOUNT, account_key)
    _, ip_lock = throttle.record_failure(throttle.PER_IP, ip)
    audit.record(
        "verification.failed",
        actor_type="borrower",
        subject=subject,
        ip=ip,
        method=method,
        locked=bool(account_lock or ip_lock),
    )
    if account_lock:
        return Verification(locked_until=account_lock, locked_by="account")
    if ip_lock:
        return Verification(locked_until=ip_lock, locked_by="network")
    return Verification(tries_left=tries_left)


def verify_link(link: ReminderLink, date_of_birth: date, id_last4: str, ip: str) -> Verification:
    account = link.account
    return _verify(
        _account_key(account), account.borrower, date_of_birth, id_last4, ip, method=SignInMethod.LINK, subject=link
    )


def verify_account_number(account_number: str, date_of_birth: date, id_last4: str, ip: str) -> Verification:
    """Direct sign-in. An unknown number fails exactly like a wrong answer."""
    matches = db.session.execute(select(Account).where(Account.account_number == account_number)).scalars().all()
    # The same number at two lenders: the answers decide which borrower it is.
    account = next(
        (a for a in matches if _answers_match(a.borrower, date_of_birth, id_last4)),
        matches[0] if matches else None,
    )
    key = _account_key(account) if account else f"?:{account_number}"
    return _verify(
        key,
        account.borrower if account else None,
        date_of_birth,
        id_last4,
        ip,
        method=SignInMethod.SIGN_IN,
        subject=account,
    )


def remember_locale(borrower_id: int, locale: str) -> None:
    """The language the borrower chose, for their next visit on any device (the caller commits)."""
    db.session.execute(update(Borrower).where(Borrower.id == borrower_id).values(locale=locale))
