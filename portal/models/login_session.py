import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class SignInMethod(enum.StrEnum):
    """How the person proved who they are."""

    LINK = "link"  # answers on the page a reminder link opened
    SIGN_IN = "sign_in"  # account number plus the same answers


class BorrowerSession(Model):
    """A signed-in browser: the server-side record that makes sessions revocable.

    Flask-Login's user is a snapshot of this record (portal/signed_in.py), whose id is
    a random token, stored hashed: a new sign-in always means a new id, and signing out ends
    it on the server, not only in the cookie.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    method: Mapped[SignInMethod] = mapped_column(enum_column(SignInMethod, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    borrower = relationship("Borrower", lazy="joined", innerjoin=True)

    # The clear token, set on the instance when the session starts (it is stored nowhere).
    token: str = ""
