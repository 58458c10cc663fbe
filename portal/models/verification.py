import enum
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column


class CounterKind(enum.StrEnum):
    """What a verification counter counts attempts against."""

    ACCOUNT = "account"  # one loan account, through any of its links or the sign-in form
    PERSON = "person"  # one person (ID hash and birth date), across their accounts and lenders
    ADDRESS = "address"  # one client address, across every account
    STAFF = "staff"  # one staff username: password and second-factor attempts (portal/staff)


class VerificationCounter(Model):
    """Unsuccessful verifications and the lock they lead to: the authoritative record, shared
    by every worker and machine (portal/access/throttle.py changes it, atomically).

    A row lives until ``window_ends_at``; while locked, that is the end of the lock.
    """

    kind: Mapped[CounterKind] = mapped_column(enum_column(CounterKind, 16), primary_key=True)
    # account: the account id ("unknown:" and a hash for a number nobody has); person: a hash
    # of the ID hash and birth date; address: the client address.
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
