"""Sending text messages: never lost, never sent for a change that was rolled back, and no
transaction held open while a gateway answers.

Invariants:

* ``send`` only writes a ``sms_message`` row (status pending) into the caller's transaction
  and notes its id on the session. The message exists exactly when the change that caused it
  does.
* When that transaction commits, an ``after_commit`` hook delivers the noted messages, each in
  three steps: claim it (a conditional UPDATE, committed in a short transaction of its own),
  hand it to the backend with no transaction open, record the outcome (another short one).
  A rolled-back transaction sends nothing: its rows never existed.
* A message is claimed by one sender at a time (the claim lapses after ``CLAIM``, so a sender
  that died does not hold it forever); ``portal sms retry`` claims the same way, so it may run
  on several machines at once and beside the web workers.
* Nothing is sent after ``expires_at`` (a one-time code is useless once it has expired);
  such messages become ``expired``. A message with ``redacted_text`` (a one-time code masked)
  has its ``text`` replaced by it once it has left the portal or expired.
* A failure in delivery never fails the request whose transaction has already committed:
  the message stays for ``portal sms retry``.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.orm import Session

from portal.database import own_transaction, updated
from portal.extensions import db
from portal.models.sms import SmsMessage, SmsPurpose, SmsStatus
from portal.models.types import utcnow
from portal.sms.backends import Outgoing, SendFailed, configured_backend

log = logging.getLogger(__name__)

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A message without a lifetime of its own is still worth sending for this long.
DEFAULT_LIFETIME = timedelta(hours=24)
# How long a claim holds: longer than the gateway timeout with room to record the outcome.
CLAIM = timedelta(minutes=2)
# A pending message older than this was not delivered after its commit (the process died in
# between): `portal sms retry` sends it.
PENDING_GRACE = timedelta(minutes=1)
MAX_ATTEMPTS = 5
_NOTED = "portal.sms.noted"


class InvalidPhoneNumber(ValueError):
    pass


def send(
    phone_e164: str,
    text: str,
    *,
    purpose: SmsPurpose,
    borrower_id: int | None = None,
    redacted_text: str | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> SmsMessage:
    """Write a message into the caller's transaction; it is sent once that transaction commits.

    ``redacted_text`` (the text with any secret masked) replaces ``text`` once the message has
    been sent or has expired. ``expires_at``: do not send after this (default: a day).
    """
    if not E164.fullmatch(phone_e164 or ""):
        raise InvalidPhoneNumber(f"not an E.164 phone number: {phone_e164!r}")
    if not text:
        raise ValueError("an empty text message")
    now = now or utcnow()
    message = SmsMessage(
        public_id=secrets.token_urlsafe(12),
        to_e164=phone_e164,
        text=text,
        redacted_text=redacted_text,
        purpose=SmsPurpose(purpose),
        borrower_id=borrower_id,
        status=SmsStatus.PENDING,
        attempts=0,
        created_at=now,
        expires_at=expires_at or now + DEFAULT_LIFETIME,
    )
    db.session.add(message)
    db.session.flush()
    db.session.info.setdefault(_NOTED, []).append(message.id)
    return message


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    noted = session.info.pop(_NOTED, None)
    if not noted:
        return
    try:
        deliver(noted, session.get_bind())
    except Exception:
        # The request has committed; its messages wait for `portal sms retry`.
        log.exception("sms: delivery after commit failed for messages %s", noted)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    # Rows written in a transaction that rolled back do not exist: nothing to send.
    session.info.pop(_NOTED, None)


@dataclass
class RetryResult:
    sent: int = 0
    failed: int = 0
    expired: int = 0


def _claimable(now: datetime):
    return and_(
        SmsMessage.expires_at > now,
        SmsMessage.attempts < MAX_ATTEMPTS,
        or_(
            SmsMessage.status.in_([SmsStatus.PENDING, SmsStatus.FAILED]),
            and_(SmsMessage.status == SmsStatus.SENDING, SmsMessage.claimed_until < now),
        ),
        or_(SmsMessage.claimed_until.is_(None), SmsMessage.claimed_until < now),
    )


def _claim(bind, message_id: int, now: datetime) -> Outgoing | None:
    with own_transaction(bind) as session:
        won = updated(
            session.execute(
                update(SmsMessage)
                .where(SmsMessage.id == message_id, _claimable(now))
                .values(status=SmsStatus.SENDING, attempts=SmsMessage.attempts + 1, claimed_until=now + CLAIM)
                .execution_options(synchronize_session=False)
            )
        )
        if not won:
            return None
        row = session.execute(
            select(SmsMessage.public_id, SmsMessage.to_e164, SmsMessage.text).where(SmsMessage.id == message_id)
        ).one()
        return Outgoing(row.public_id, row.to_e164, row.text)


def _record(bind, message_id: int, values: dict) -> None:
    with own_transaction(bind) as session:
        session.execute(
            update(SmsMessage)
            .where(SmsMessage.id == message_id, SmsMessage.status == SmsStatus.SENDING)
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )


def deliver(message_ids: list[int], bind=None, now: datetime | None = None) -> RetryResult:
    """Send each message that is still sendable; record each outcome. No transaction is open
    while a backend works."""
    bind = bind if bind is not None else db.session.get_bind()
    backend = configured_backend()
    result = RetryResult()
    for message_id in message_ids:
        outgoing = _claim(bind, message_id, now or utcnow())
        if outgoing is None:
            continue  # sent, expired, rolled back, or another sender has it
        try:
            reference = backend.send(outgoing)
        except SendFailed as exc:
            log.warning("sms: %s to %s failed: %s", outgoing.public_id, outgoing.to_e164, exc)
            _record(bind, message_id, {"status": SmsStatus.FAILED, "last_error": str(exc)[:500]})
            result.failed += 1
            continue
        values = {
            "status": SmsStatus.SENT,
            "sent_at": utcnow(),
            "backend": backend.name,
            "gateway_reference": reference,
            "last_error": None,
        }
        if not backend.keeps_text:
            values["text"] = _redacted_or_text()
        _record(bind, message_id, values)
        result.sent += 1
    return result


def _redacted_or_text():
    return func.coalesce(SmsMessage.redacted_text, SmsMessage.text)


def retry_due(now: datetime | None = None, limit: int = 500) -> RetryResult:
    """What `portal sms retry` does: expire what is too old, then send what failed or was left
    pending by a sender that died."""
    now = now or utcnow()
    bind = db.session.get_bind()
    with own_transaction(bind) as session:
        expired = updated(
            session.execute(
                update(SmsMessage)
                .where(
                    SmsMessage.expires_at <= now,
                    or_(
                        SmsMessage.status.in_([SmsStatus.PENDING, SmsStatus.FAILED]),
                        and_(SmsMessage.status == SmsStatus.SENDING, SmsMessage.claimed_until < now),
                    ),
                )
                .values(status=SmsStatus.EXPIRED, claimed_until=None, text=_redacted_or_text())
                .execution_options(synchronize_session=False)
            )
        )
        due = (
            session.execute(
                select(SmsMessage.id)
                .where(
                    _claimable(now),
                    or_(SmsMessage.status != SmsStatus.PENDING, SmsMessage.created_at < now - PENDING_GRACE),
                )
                .order_by(SmsMessage.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    result = deliver(list(due), bind, now)
    result.expired = expired
    return result


def given_up(limit: int = 100) -> list[SmsMessage]:
    """Messages that failed ``MAX_ATTEMPTS`` times and are still within their lifetime."""
    return list(
        db.session.execute(
            select(SmsMessage)
            .where(SmsMessage.status == SmsStatus.FAILED, SmsMessage.attempts >= MAX_ATTEMPTS)
            .order_by(SmsMessage.id)
            .limit(limit)
        ).scalars()
    )
