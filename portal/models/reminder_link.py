import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow

# How long a reminder link may work, in days (the API, the CLI and the service all check this).
LINK_LIFETIME_DAYS = range(1, 91)


class LinkChannel(enum.StrEnum):
    """How the reminder carrying the link was sent."""

    SMS = "sms"
    EMAIL = "email"
    APP = "app"
    LETTER = "letter"


class ReminderLink(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the code: a leaked database does not leak working links.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[LinkChannel] = mapped_column(enum_column(LinkChannel, 16), default=LinkChannel.SMS)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counted when someone starts verifying, not on GET: link scanners change nothing.
    opened_count: Mapped[int] = mapped_column(Integer, default=0)
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account = relationship("Account", lazy="joined", innerjoin=True)
