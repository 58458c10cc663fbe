"""Staff accounts and signing in: password (Argon2id), then a TOTP code or a recovery code.

Attempts are counted like the borrowers' (portal/access/throttle.py): charged *before* the
password or code is compared, in the database, per username and per address, so the limit
holds across every worker and machine. A right password gives its charge back; a right second
factor starts the username's count afresh. Every attempt is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select, update

from portal import audit
from portal.access import throttle
from portal.access.service import address_key
from portal.database import updated
from portal.extensions import db
from portal.models import CounterKind, StaffRecoveryCode, StaffRole, StaffSession, StaffUser
from portal.models.types import utcnow

MIN_PASSWORD_LENGTH = 12
RECOVERY_CODES = 10
TOTP_ISSUER = "Sunshine Portal"
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Compared against when the username is unknown, so that it costs the same as a wrong password.
_NOBODY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffError(ValueError):
    """A refused CLI or admin request, with a plain reason."""


def _normalise(username: str) -> str:
    return (username or "").strip().lower()


def find(username: str) -> StaffUser | None:
    return db.session.execute(select(StaffUser).where(StaffUser.username == _normalise(username))).scalar_one_or_none()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")


def create(username: str, role: StaffRole, password: str, *, by: str) -> StaffUser:
    name = _normalise(username)
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise StaffError("a username is letters, digits, '.', '_' or '-' (at most 64)")
    if find(name) is not None:
        raise StaffError(f"{name} exists already")
    _check_password(password)
    staff = StaffUser(
        username=name, role=StaffRole(role), password_hash=_hasher.hash(password), totp_secret=pyotp.random_base32()
    )
    db.session.add(staff)
    db.session.flush()
    audit.record("staff.created", actor_type="cli", actor_id=by, subject=staff, role=str(staff.role))
    return staff


def end_sessions(staff: StaffUser) -> int:
    return updated(
        db.session.execute(
            update(StaffSession)
            .where(StaffSession.staff_id == staff.id, StaffSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
    )


def disable(username: str, *, by: str, actor_type: str = "cli", ip: str | None = None) -> StaffUser:
    staff = find(username)
    if staff is None:
        raise StaffError(f"no staff member {username}")
    if staff.disabled_at is None:
        staff.disabled_at = utcnow()
    ended = end_sessions(staff)
    audit.record("staff.disabled", actor_type=actor_type, actor_id=by, subject=staff, ip=ip, sessions_ended=ended)
    return staff


def reset_password(username: str, password: str, *, by: str) -> StaffUser:
    """A new password and a new second factor (the person enrols again); sessions end."""
    staff = find(username)
    if staff is None:
        raise StaffError(f"no staff member {username}")
    _check_password(password)
    staff.password_hash = _hasher.hash(password)
    staff.totp_secret = pyotp.random_base32()
    staff.totp_enrolled_at = None
    staff.totp_last_step = None
    db.session.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_id == staff.id, StaffRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
    )
    ended = end_sessions(staff)
    throttle.clear([staff_key(staff.username)])
    audit.record("staff.password_reset", actor_type="cli", actor_id=by, subject=staff, sessions_ended=ended)
    return staff


def staff_key(username: str) -> throttle.Key:
    return (CounterKind.STAFF, _normalise(username)[:128])


@dataclass(frozen=True)
class Attempt:
    """The outcome of one password or code attempt."""

    staff: StaffUser | None = None
    locked_until: datetime | None = None

    @property
    def lock_minutes(self) -> int:
        return throttle.PER_STAFF.lock_minutes


def _charge(username: str, ip: str) -> Attempt | None:
    """Charge the attempt; an Attempt with the lock's end when a lock refuses it."""
    keys = [staff_key(username), address_key(ip)]
    in_force = throttle.locks_in_force(keys)
    if not in_force:
        counts = throttle.charge(keys)
        in_force = [c for c in counts if not c.allowed]
    if in_force:
        until = (
            max(c.locked_until for c in in_force if c.locked_until) if any(c.locked_until for c in in_force) else None
        )
        audit.record("staff.sign_in_refused", actor_type="staff", actor_id=_normalise(username), ip=ip)
        return Attempt(locked_until=until or utcnow())
    return None


def check_password(username: str, password: str, ip: str) -> Attempt:
    refused = _charge(username, ip)
    if refused:
        return refused
    staff = find(username)
    ok: bool
    try:
        ok = _hasher.verify(staff.password_hash if staff else _NOBODY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or staff is None or staff.disabled_at is not None:
        audit.record("staff.password_failed", actor_type="staff", actor_id=_normalise(username), ip=ip)
        return Attempt()
    # The right password gives its charge back: only the second factor completes sign-in.
    throttle.settle_success(reset=[], refund=[staff_key(username), address_key(ip)])
    audit.record("staff.password_accepted", actor_type="staff", actor_id=staff.username, subject=staff, ip=ip)
    return Attempt(staff=staff)


def totp(staff: StaffUser) -> pyotp.TOTP:
    return pyotp.TOTP(staff.totp_secret)


def provisioning_uri(staff: StaffUser) -> str:
    return totp(staff).provisioning_uri(name=staff.username, issuer_name=TOTP_ISSUER)


def _totp_step(staff: StaffUser, code: str, now: datetime) -> int | None:
    """The time step the code belongs to (this one or its neighbours, for clock drift), or None."""
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    generator = totp(staff)
    step = generator.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(generator.generate_otp(candidate), code):
            return candidate
    return None


def _recovery_hash(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, _normalise(code).replace("-", "").encode(), hashlib.sha256).hexdigest()


def check_second_factor(staff_id: int, code: str, ip: str, *, now: datetime | None = None) -> Attempt:
    """A TOTP code (each time step once) or an unused recovery code; charged before comparing."""
    now = now or utcnow()
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or staff.disabled_at is not None or staff.totp_enrolled_at is None:
        return Attempt()
    refused = _charge(staff.username, ip)
    if refused:
        return refused
    code = (code or "").replace(" ", "")
    step = _totp_step(staff, code, now)
    accepted = False
    method = "totp"
    if step is not None:
        # One conditional UPDATE: a code already used (or an older one) never works again.
        accepted = bool(
            updated(
                db.session.execute(
                    update(StaffUser)
                    .where(
                        StaffUser.id == staff.id,
                        (StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < step),
                    )
                    .values(totp_last_step=step)
                )
            )
        )
    elif len(code) > 6:
        method = "recovery_code"
        accepted = bool(
            updated(
                db.session.execute(
                    update(StaffRecoveryCode)
                    .where(
                        StaffRecoveryCode.staff_id == staff.id,
                        StaffRecoveryCode.code_hash == _recovery_hash(code),
                        StaffRecoveryCode.used_at.is_(None),
                    )
                    .values(used_at=now)
                )
            )
        )
    if not accepted:
        audit.record("staff.second_factor_failed", actor_type="staff", actor_id=staff.username, subject=staff, ip=ip)
        return Attempt()
    throttle.settle_success(reset=[staff_key(staff.username)], refund=[address_key(ip)])
    audit.record("staff.signed_in", actor_type="staff", actor_id=staff.username, subject=staff, ip=ip, method=method)
    return Attempt(staff=staff)


def enrol(staff_id: int, code: str, ip: str, *, now: datetime | None = None) -> tuple[Attempt, list[str]]:
    """Confirm the authenticator with its first code; return the recovery codes (shown once)."""
    now = now or utcnow()
    staff = db.session.get(StaffUser, staff_id)
    if staff is None or staff.disabled_at is not None or staff.totp_enrolled_at is not None:
        return Attempt(), []
    refused = _charge(staff.username, ip)
    if refused:
        return refused, []
    step = _totp_step(staff, (code or "").replace(" ", ""), now)
    if step is None:
        audit.record("staff.enrolment_failed", actor_type="staff", actor_id=staff.username, subject=staff, ip=ip)
        return Attempt(), []
    staff.totp_enrolled_at = now
    staff.totp_last_step = step
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]  # 40 bits each, 10 hex digits
    db.session.add_all(StaffRecoveryCode(staff_id=staff.id, code_hash=_recovery_hash(c)) for c in codes)
    throttle.settle_success(reset=[staff_key(staff.username)], refund=[address_key(ip)])
    audit.record("staff.enrolled", actor_type="staff", actor_id=staff.username, subject=staff, ip=ip)
    audit.record("staff.signed_in", actor_type="staff", actor_id=staff.username, subject=staff, ip=ip, method="enrol")
    return Attempt(staff=staff), [f"{c[:5]}-{c[5:]}" for c in codes]


def unused_recovery_codes(staff_id: int) -> int:
    return db.session.execute(
        select(func.count()).where(StaffRecoveryCode.staff_id == staff_id, StaffRecoveryCode.used_at.is_(None))
    ).scalar_one()
