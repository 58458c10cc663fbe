from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, utcnow


class Borrower(Model):
    """A person as one lender knows them.

    Borrowers are scoped to a lender on purpose: a link from lender A must never reveal
    that the same person also owes lender B.
    """

    # (id, lender_id) is unique anyway; declared so that accounts can refer to the pair.
    __table_args__ = (UniqueConstraint("lender_id", "national_id_hash"), UniqueConstraint("id", "lender_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lender.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone_e164: Mapped[str] = mapped_column(String(20))
    date_of_birth: Mapped[date] = mapped_column(Date)
    # Keyed hash (HMAC-SHA256 with ID_HASH_KEY) of the normalised ID; the clear ID is never kept.
    national_id_hash: Mapped[str] = mapped_column(String(64))
    national_id_last4: Mapped[str] = mapped_column(String(4))
    locale: Mapped[str] = mapped_column(String(8), default="zh_Hans")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lender = relationship("Lender", lazy="joined", innerjoin=True)
    accounts = relationship(
        "Account",
        back_populates="borrower",
        order_by="Account.id",
        primaryjoin="Borrower.id == Account.borrower_id",
        foreign_keys="Account.borrower_id",
    )
