"""One-time codes sent by SMS before anything that commits a borrower."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class OtpPurpose(StrEnum):
    """What a code confirms; features add their own members (no migration needed)."""

    PLAN = "plan"
    COUNTER_OFFER = "counter_offer"
    DISPUTE = "dispute"
    DOCUMENT_REQUEST = "document_request"
    CONTACT_PREFERENCES = "contact_preferences"
    COMPLAINT = "complaint"
    COMPLAINT_STATUS = "complaint_status"


class OtpChallenge(Model):
    """One code sent to one phone for one purpose and subject.

    Only an HMAC of the code is kept. ``attempts`` only ever grows, through a conditional
    UPDATE (portal/otp/service.py), and ``used_at`` is set once.
    """

    __table_args__ = (
        # The rate limits count recent challenges per subject and per phone.
        Index("ix_otp_challenge_subject_created", "subject", "created_at"),
        Index("ix_otp_challenge_phone_created", "phone_e164", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    purpose: Mapped[OtpPurpose] = mapped_column(enum_column(OtpPurpose))
    # What the code authorises, e.g. "account:42" or "complaint:C-2026-000123".
    subject: Mapped[str] = mapped_column(String(100))
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrower.id"), index=True)
    phone_e164: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A newer code for the same purpose and subject replaced this one.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_message_id: Mapped[int | None] = mapped_column(ForeignKey("sms_message.id"))
