"""Borrower sessions: server-side records, a fresh id at every sign-in (which ends the browser's
previous one), an idle limit and an absolute lifetime."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import update

from portal.database import reading_connection
from portal.extensions import db
from portal.models import Borrower, BorrowerSession
from portal.models.types import utcnow
from portal.signed_in import SignedIn, read_signed_in
from portal.viewer import database_reachable

LAST_SEEN = "seen"
# Rewriting the cookie on every request costs bytes; a 30-second resolution is plenty.
LAST_SEEN_RESOLUTION = 30
# However active, a session ends this long after sign-in; the person signs in again.
ABSOLUTE_LIFETIME = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(borrower: Borrower, method: str) -> BorrowerSession:
    """Begin a new session for a verified borrower."""
    token = secrets.token_urlsafe(32)
    record = BorrowerSession(token_hash=_hash(token), borrower=borrower, method=method)
    record.token = token
    db.session.add(record)
    return record


def sign_in(record: BorrowerSession) -> None:
    """Attach the session record to this browser, dropping anything
    from before sign-in.

    Clearing the Flask session gives the browser a new session cookie, so a session id
    planted before sign-in (session fixation) is worthless afterwards.
    """
    # Signing in again (a second link, the sign-in form) ends the session this browser had:
    # its record must not stay usable by a copy of the old cookie.
    if current_user.is_authenticated:
        end_record(current_user.id)
    keep_locale = session.get("link_locale")
    session.clear()
    if keep_locale:
        session["link_locale"] = keep_locale
    # The same kind of user as every later request gets from load(), not the ORM record.
    db.session.flush()
    login_user(load(record.token))
    session[LAST_SEEN] = int(time.time())


def end_record(session_id: int) -> None:
    db.session.execute(
        update(BorrowerSession)
        .where(BorrowerSession.id == session_id, BorrowerSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def end(user: SignedIn | None) -> None:
    """Sign out: the server-side record ends, then the cookie's session."""
    if user is not None:
        end_record(user.id)
    logout_user()
    session.clear()


def load(token: str) -> SignedIn | None:
    """The live session of this token, with its borrower, lender and accounts, or None.

    None as well while the database is known to be unreachable: the "busy" page then renders
    for an anonymous visitor (Flask-Login puts the user into every template's context).
    """
    if not database_reachable():
        return None
    return read_signed_in(reading_connection(), token, _hash(token))


def init_app(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(load)
    # "strong" would also drop the session when a phone's IP changes between mobile masts.
    login_manager.session_protection = "basic"

    @login_manager.unauthorized_handler
    def unauthorized():
        return redirect(url_for("access.sign_in"))

    @app.before_request
    def enforce_session_limits():
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        user = current_user._get_current_object()
        if user.created_at + ABSOLUTE_LIFETIME <= utcnow():
            end(user)
            return redirect(url_for("access.signed_out", reason="expired"))
        now = int(time.time())
        last_seen = session.get(LAST_SEEN, 0)
        if now - last_seen > current_app.config["IDLE_TIMEOUT_SECONDS"]:
            end(user)
            return redirect(url_for("access.signed_out", reason="idle"))
        if now - last_seen >= LAST_SEEN_RESOLUTION:
            session[LAST_SEEN] = now
        return None
