"""Text messages to borrowers and complainants: every one is a row before it is sent."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class SmsStatus(StrEnum):
    PENDING = "pending"  # written with the caller's change, not sent yet
    SENDING = "sending"  # claimed by a sender (after commit or `portal sms retry`)
    SENT = "sent"  # the backend accepted it
    FAILED = "failed"  # the last try failed; `portal sms retry` tries again
    EXPIRED = "expired"  # not sent before it stopped being useful (a one-time code's lifetime)


class SmsPurpose(StrEnum):
    """Why a message is sent; features add their own members here (no migration needed)."""

    ONE_TIME_CODE = "one_time_code"
    REMINDER = "reminder"
    COMPLAINT_RECEIVED = "complaint_received"
    NOTICE = "notice"


class SmsMessage(Model):
    """One message, written in the caller's transaction and delivered after it commits.

    ``text`` holds what was (or will be) sent. A message that carries a secret (a one-time
    code) also has ``redacted_text``; once the message has left the portal, or expired,
    ``text`` is overwritten with it, so codes do not linger in the database.
    """

    __table_args__ = (Index("ix_sms_message_phone_created", "to_e164", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    to_e164: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    redacted_text: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[SmsPurpose] = mapped_column(enum_column(SmsPurpose))
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrower.id"), index=True)
    status: Mapped[SmsStatus] = mapped_column(enum_column(SmsStatus, 16), default=SmsStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Which adapter sent it (console, database, http) and the gateway's id for it, if any.
    backend: Mapped[str | None] = mapped_column(String(16))
    gateway_reference: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender that claimed the message holds it until then (a crashed sender's claim lapses).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After this, sending is pointless (the code inside has expired): never retried.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
