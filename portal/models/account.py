import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, ForeignKeyConstraint, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class AccountStatus(enum.StrEnum):
    OVERDUE = "overdue"
    IN_PLAN = "in_plan"  # an active repayment plan
    DISPUTED = "disputed"  # the borrower disputed the debt; collection contact paused
    SETTLED = "settled"  # nothing overdue any more
    CLOSED = "closed"


class AccountFigures:
    """What pages derive from an account's figures, for the ORM account and its snapshot alike
    (portal/signed_in.py)."""

    __slots__ = ()
    # Provided by the class that mixes this in (a column, or a dataclass field).
    overdue_minor: int
    reserved_minor: int
    account_number: str

    @property
    def payable_minor(self) -> int:
        """What can still be paid now: overdue and not already in flight."""
        return max(self.overdue_minor - self.reserved_minor, 0)

    @property
    def masked_number(self) -> str:
        """Only the last four characters: enough to recognise, too little to misuse."""
        return "•••• " + self.account_number[-4:]


class Account(AccountFigures, Model):
    """A loan in arrears. Amounts are integer minor units of ``currency``.

    principal + interest + penalty_interest + fees == overdue (checked on every import).
    """

    __table_args__ = (
        UniqueConstraint("lender_id", "account_number"),
        # An account's lender is its borrower's lender (a borrower record belongs to one
        # lender): pages show the borrower's lender for every account they list.
        ForeignKeyConstraint(
            ["borrower_id", "lender_id"], ["borrower.id", "borrower.lender_id"], name="fk_account_borrower_of_lender"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lender.id"))
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    # Indexed alone too: direct sign-in looks an account up by number across lenders.
    account_number: Mapped[str] = mapped_column(String(64), index=True)
    product: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    principal_minor: Mapped[int] = mapped_column(BigInteger)
    interest_minor: Mapped[int] = mapped_column(BigInteger)
    penalty_interest_minor: Mapped[int] = mapped_column(BigInteger)
    fees_minor: Mapped[int] = mapped_column(BigInteger)
    overdue_minor: Mapped[int] = mapped_column(BigInteger)
    # Sum of payments in flight (sent to Stripe, outcome not yet known). Payments may only
    # reserve what is overdue and not reserved, atomically: the total paid never exceeds
    # what is owed, whatever the number of tabs or taps.
    reserved_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    due_date: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer)
    status: Mapped[AccountStatus] = mapped_column(enum_column(AccountStatus, 16), default=AccountStatus.OVERDUE)
    last_synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the loan core took the figures this account shows (the ``as_of`` of the import that
    # last changed them): an import older than this is refused for the account (portal/imports).
    figures_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lender = relationship("Lender", lazy="joined", innerjoin=True)
    borrower = relationship(
        "Borrower",
        back_populates="accounts",
        primaryjoin="Borrower.id == Account.borrower_id",
        foreign_keys=[borrower_id],
    )


class AccountAdjustment(Model):
    """A change the portal made to an account's figures (a payment applied, a refund given back),
    part by part in signed minor units, with when it was recorded.

    An import carries the loan core's figures as of some moment; every adjustment recorded after
    that moment is applied again on top of them, so a payment the core has not seen yet never
    shows as owed again (portal/imports/upsert.py).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    # Indexed: an import looks at the adjustments newer than its oldest as_of only.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    principal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_interest_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fees_minor: Mapped[int] = mapped_column(BigInteger, default=0)
