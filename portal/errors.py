"""Every error is a page that says what happened and what to do next, never a stack trace."""

from flask import Flask, g, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from portal.database import database_unavailable, release_session
from portal.extensions import db, login_manager

# Seconds a client is asked to wait after the database went away (a restart takes a few).
DATABASE_RETRY_AFTER = 5

HEADINGS = {
    400: _l("We could not complete that"),
    403: _l("This page is not available to you"),
    404: _l("We could not find this page"),
    405: _l("We could not complete that"),
    410: _l("This page is no longer available"),
    413: _l("What you sent is too large"),
    429: _l("Too many tries in a short time"),
    500: _l("Sorry, something went wrong on our side"),
    503: _l("This service is busy right now"),
}


def _page(status: int, reason: str | None = None):
    if request.path.startswith("/api/"):
        from portal.api.views import api_error

        return api_error(status)
    shown = status if status in HEADINGS else (500 if status >= 500 else 400)
    return render_template("errors/error.html", status=shown, reason=reason, headings=HEADINGS), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, "form_expired")

    @app.errorhandler(HTTPException)
    def http_error(error):
        return _page(error.code or 500)

    @app.errorhandler(DBAPIError)
    def database_error(error):
        if not database_unavailable(error):
            return unexpected(error)  # a deadlock, a timeout or a bug: a 500 with its traceback
        # The database restarted or cannot be reached. A lost connection has already made
        # SQLAlchemy mark the pool stale, so the next request connects afresh. What this
        # request had not committed is gone; what it had committed (a payment sent to Stripe
        # just before) stays, so the page sends the borrower to their payment history.
        app.logger.error("database unavailable: %s", error.orig)
        # The page must render without the database: as an anonymous visitor (the signed-in
        # session's objects may be expired and cannot be reloaded now), language from the
        # cookie, the link or the browser.
        release_session()
        g._login_user = login_manager.anonymous_user()
        response = make_response(_page(503, "database"))
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return _page(500)
