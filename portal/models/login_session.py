from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class BorrowerSession(UserMixin, db.Model):
    """A signed-in browser: the server-side record that makes sessions revocable.

    Flask-Login's user is this record (its id is a random token, stored hashed), so a new
    sign-in always means a new id, and signing out ends it on the server, not only in the
    cookie.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    # "link" or "sign_in": how the person proved who they are.
    method: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    borrower = relationship("Borrower", lazy="joined", innerjoin=True)

    # Flask-Login stores get_id() in the cookie; the clear token is set on the instance
    # when the session starts and on load.
    token: str = ""

    def get_id(self) -> str:
        return self.token
