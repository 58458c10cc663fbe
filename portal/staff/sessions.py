"""Staff sessions: their own cookie (``portal_staff``, path /staff, SameSite=Strict), apart from
the borrowers' session, with a server-side record that an admin (or ``portal staff disable``)
ends, a 30-minute idle limit and a 12-hour lifetime.

The cookie is signed (itsdangerous, keyed with SECRET_KEY) and holds the session's random token,
or, between the password and the second factor, the staff id still to be confirmed (5 minutes).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import StaffSession, StaffUser
from portal.models.types import utcnow
from portal.staff.permissions import Actor

COOKIE = "portal_staff"
PATH = "/staff"
IDLE_LIMIT_SECONDS = 30 * 60
ABSOLUTE_LIFETIME = timedelta(hours=12)
PENDING_SECONDS = 5 * 60
SEEN_RESOLUTION = 30


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="portal.staff.session")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_cookie() -> dict:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return {}
    return value if isinstance(value, dict) else {}


def set_cookie(value: dict) -> None:
    g.staff_cookie = value


def write_cookie(response: Response) -> Response:
    if "staff_cookie" not in g:
        return response
    value = g.staff_cookie
    if not value:
        response.delete_cookie(COOKIE, path=PATH)
        return response
    response.set_cookie(
        COOKIE,
        _serializer().dumps(value),
        path=PATH,
        httponly=True,
        samesite="Strict",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def pending_staff_id() -> int | None:
    value = read_cookie()
    pending, at = value.get("pending"), value.get("at", 0)
    if isinstance(pending, int) and isinstance(at, int) and 0 <= time.time() - at <= PENDING_SECONDS:
        return pending
    return None


def set_pending(staff: StaffUser) -> None:
    set_cookie({"pending": staff.id, "at": int(time.time())})


def start(staff: StaffUser, ip: str) -> None:
    token = secrets.token_urlsafe(32)
    db.session.add(StaffSession(token_hash=_hash(token), staff_id=staff.id, ip=ip[:64]))
    set_cookie({"token": token, "seen": int(time.time())})


def end_record(session_id: int) -> None:
    db.session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def load() -> tuple[Actor | None, str | None]:
    """The signed-in member of staff, or None with why ("idle", "expired" or None)."""
    value = read_cookie()
    token, seen = value.get("token"), value.get("seen", 0)
    if not isinstance(token, str) or not isinstance(seen, int):
        return None, None
    record = db.session.execute(
        select(StaffSession).where(StaffSession.token_hash == _hash(token), StaffSession.ended_at.is_(None))
    ).scalar_one_or_none()
    if record is None or record.staff.disabled_at is not None:
        set_cookie({})
        return None, None
    now = int(time.time())
    if now - seen > IDLE_LIMIT_SECONDS or record.created_at + ABSOLUTE_LIFETIME <= utcnow():
        end_record(record.id)
        set_cookie({})
        return None, "idle" if now - seen > IDLE_LIMIT_SECONDS else "expired"
    if now - seen >= SEEN_RESOLUTION:
        set_cookie({"token": token, "seen": now})
    g.staff_session_id = record.id
    staff = record.staff
    return Actor(staff.id, staff.username, staff.role, request.remote_addr), None
