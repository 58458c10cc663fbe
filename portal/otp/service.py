"""One-time codes: issue one by SMS, verify it once.

Invariants:

* A code is 6 random digits, valid for 10 minutes, for one purpose and one subject (what it
  authorises, e.g. ``account:42``); only an HMAC of it (keyed with SECRET_KEY and bound to the
  challenge's public id) is stored. The SMS row's text is masked once the message has left.
* At most ``MAX_TRIES`` tries per code, counted by one conditional UPDATE that also marks the
  code used when it matches: however many tries arrive at once, no more than ``MAX_TRIES`` are
  ever compared and a code succeeds at most once.
* A new code for the same purpose and subject replaces the open one (only the newest works),
  so asking again never multiplies the guesses in play.
* Rate limits (``LIMITS``) are counted in the database, shared by every worker and machine and
  surviving restarts: per subject and per phone. On PostgreSQL two requests for the same
  subject or phone take advisory locks so that they cannot both slip under a limit; on SQLite
  writing transactions are serialised anyway.
* No commit here: the challenge and its SMS are written into the caller's transaction and the
  SMS leaves when it commits (portal/sms/service.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import case, literal, select, text, update

from portal.database import updated
from portal.extensions import db
from portal.models.otp import OtpChallenge, OtpPurpose
from portal.models.sms import SmsPurpose
from portal.models.types import UTCDateTime, utcnow
from portal.sms import service as sms

CODE_LENGTH = 6
LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
MASK = "•" * CODE_LENGTH


@dataclass(frozen=True)
class Limit:
    name: str
    codes: int
    window: timedelta


# One place for the limits on sending codes; the README and pages read them from here.
PER_SUBJECT = Limit("subject", codes=3, window=timedelta(minutes=10))
PER_PHONE = Limit("phone", codes=10, window=timedelta(days=1))
LIMITS = (PER_SUBJECT, PER_PHONE)


@dataclass(frozen=True)
class Challenge:
    public_id: str
    purpose: OtpPurpose
    subject: str
    phone_ending: str  # last 4 digits, for "we sent a code to your phone ending 8001"
    expires_at: datetime
    tries_left: int


class TooManyCodes(Exception):
    """A limit on sending codes is reached; another may be sent from ``retry_at`` on."""

    def __init__(self, limit: Limit, retry_at: datetime):
        super().__init__(f"{limit.name}: {limit.codes} codes per {limit.window}")
        self.limit = limit
        self.retry_at = retry_at


class VerifyStatus(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # not the code; tries_left > 0
    USED_UP = "used_up"  # no tries left on this code
    EXPIRED = "expired"  # past its 10 minutes, or replaced by a newer code
    ALREADY_USED = "already_used"
    UNKNOWN = "unknown"  # no such challenge for this purpose and subject


@dataclass(frozen=True)
class Outcome:
    status: VerifyStatus
    tries_left: int = 0

    @property
    def ok(self) -> bool:
        return self.status is VerifyStatus.OK


def phone_ending(phone_e164: str) -> str:
    return phone_e164[-4:]


def _hash(public_id: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"otp:{public_id}:{code}".encode(), hashlib.sha256).hexdigest()


def normalise_code(code: str) -> str:
    """Full-width digits (Chinese input methods) become ASCII; spaces and dashes are dropped."""
    folded = unicodedata.normalize("NFKC", code or "")
    return "".join(ch for ch in folded if not ch.isspace() and ch != "-")


def is_well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and code.isascii() and code.isdigit()


def _advisory_lock(*names: str) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for name in sorted(names):  # always in the same order: no deadlock between two requests
        key = int.from_bytes(hashlib.sha256(f"otp:{name}".encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _check_limit(limit: Limit, column, value: str, now: datetime) -> None:
    recent = (
        db.session.execute(
            select(OtpChallenge.created_at)
            .where(column == value, OtpChallenge.created_at > now - limit.window)
            .order_by(OtpChallenge.created_at.desc())
            .limit(limit.codes)
        )
        .scalars()
        .all()
    )
    if len(recent) >= limit.codes:
        raise TooManyCodes(limit, retry_at=recent[-1] + limit.window)


def sms_text(*, code: str, sender_name: str, locale: str) -> str:
    with force_locale(locale):
        return gettext(
            "%(sender)s: your code is %(code)s. It is valid for %(minutes)s minutes. "
            "Our staff will never ask you for it: do not share it with anyone.",
            sender=sender_name,
            code=code,
            minutes=int(LIFETIME.total_seconds() // 60),
        )


def issue(
    *,
    phone_e164: str,
    purpose: OtpPurpose,
    subject: str,
    borrower_id: int | None = None,
    locale: str,
    sender_name: str,
    now: datetime | None = None,
) -> Challenge:
    """Send a new code to ``phone_e164`` by SMS (in ``locale``, signed ``sender_name``).

    Raises ``TooManyCodes`` when a limit is reached (nothing is written then).
    """
    purpose = OtpPurpose(purpose)
    now = now or utcnow()
    _advisory_lock(f"subject:{subject}", f"phone:{phone_e164}")
    _check_limit(PER_SUBJECT, OtpChallenge.subject, subject, now)
    _check_limit(PER_PHONE, OtpChallenge.phone_e164, phone_e164, now)
    db.session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.purpose == purpose,
            OtpChallenge.subject == subject,
            OtpChallenge.used_at.is_(None),
            OtpChallenge.superseded_at.is_(None),
            OtpChallenge.expires_at > now,
        )
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
    public_id = secrets.token_urlsafe(16)
    expires_at = now + LIFETIME
    message = sms.send(
        phone_e164,
        sms_text(code=code, sender_name=sender_name, locale=locale),
        redacted_text=sms_text(code=MASK, sender_name=sender_name, locale=locale),
        purpose=SmsPurpose.ONE_TIME_CODE,
        borrower_id=borrower_id,
        expires_at=expires_at,
        now=now,
    )
    challenge = OtpChallenge(
        public_id=public_id,
        purpose=purpose,
        subject=subject,
        borrower_id=borrower_id,
        phone_e164=phone_e164,
        code_hash=_hash(public_id, code),
        attempts=0,
        created_at=now,
        expires_at=expires_at,
        sms_message_id=message.id,
    )
    db.session.add(challenge)
    db.session.flush()
    return Challenge(public_id, purpose, subject, phone_ending(phone_e164), expires_at, MAX_TRIES)


def verify(
    challenge_public_id: str, code: str, *, purpose: OtpPurpose, subject: str, now: datetime | None = None
) -> Outcome:
    """Try ``code`` against the challenge; a match uses the challenge up (single use)."""
    now = now or utcnow()
    purpose = OtpPurpose(purpose)
    code = normalise_code(code)
    if not isinstance(challenge_public_id, str) or not challenge_public_id:
        return Outcome(VerifyStatus.UNKNOWN)
    # A malformed code still costs a try: the same rule for every wrong answer.
    digest = _hash(challenge_public_id, code) if is_well_formed(code) else ""
    mine = (
        OtpChallenge.public_id == challenge_public_id,
        OtpChallenge.purpose == purpose,
        OtpChallenge.subject == subject,
    )
    tried = updated(
        db.session.execute(
            update(OtpChallenge)
            .where(
                *mine,
                OtpChallenge.used_at.is_(None),
                OtpChallenge.superseded_at.is_(None),
                OtpChallenge.attempts < MAX_TRIES,
                OtpChallenge.expires_at > now,
            )
            .values(
                attempts=OtpChallenge.attempts + 1,
                used_at=case((OtpChallenge.code_hash == digest, literal(now, UTCDateTime())), else_=None),
            )
            .execution_options(synchronize_session=False)
        )
    )
    row = db.session.execute(
        select(OtpChallenge.attempts, OtpChallenge.used_at, OtpChallenge.superseded_at, OtpChallenge.expires_at).where(
            *mine
        )
    ).one_or_none()
    if row is None:
        return Outcome(VerifyStatus.UNKNOWN)
    tries_left = max(MAX_TRIES - row.attempts, 0)
    if tried:
        if row.used_at is not None:
            return Outcome(VerifyStatus.OK, tries_left)
        return Outcome(VerifyStatus.WRONG if tries_left else VerifyStatus.USED_UP, tries_left)
    if row.used_at is not None:
        return Outcome(VerifyStatus.ALREADY_USED)
    if row.superseded_at is not None or row.expires_at <= now:
        return Outcome(VerifyStatus.EXPIRED)
    return Outcome(VerifyStatus.USED_UP)
