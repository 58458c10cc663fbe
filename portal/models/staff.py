import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.types import UTCDateTime, enum_column, utcnow


class StaffRole(enum.StrEnum):
    """What a member of staff may do (portal/staff/permissions.py maps roles to permissions)."""

    AGENT = "agent"  # search, view, assisted actions
    SUPERVISOR = "supervisor"  # agent + plan decisions
    COMPLIANCE = "compliance"  # complaints, disputes, audit; no collection actions
    ADMIN = "admin"  # staff accounts, lenders, policies, API clients


class StaffUser(Model):
    """A member of staff: password (Argon2id) and a TOTP second factor, both required to sign in.

    The TOTP secret is made with the account (and again at a password reset); it is confirmed
    by the first code the person's authenticator app shows (``totp_enrolled_at``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, 16))
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str] = mapped_column(String(64))
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last TOTP time step accepted: a code works once, never again (replay).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffRecoveryCode(Model):
    """A one-use code for a lost authenticator; only its HMAC is kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffSession(Model):
    """A signed-in staff browser, revocable on the server (``ended_at``); the cookie holds a
    random token whose SHA-256 is ``token_hash``."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff = relationship("StaffUser", lazy="joined", innerjoin=True)
