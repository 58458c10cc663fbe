"""Every error is a page that says what happened and what to do next, never a stack trace."""

from flask import Flask, current_app, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from portal.database import abandon_request, database_unavailable
from portal.viewer import mark_database_unavailable

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


def database_error_response(error: DBAPIError):
    """A 503 "busy, try again" page (or API problem) for an unreachable database; a 500 for
    any other database error (a deadlock, a timeout or a bug keeps its traceback)."""
    if not database_unavailable(error):
        current_app.logger.error("database error", exc_info=error)
        return make_response(_page(500))
    # The database restarted or cannot be reached. A lost connection has already made
    # SQLAlchemy mark the pool stale, so the next request connects afresh. What this request
    # had not committed is gone; what it had committed (a payment sent to Stripe just before)
    # stays, so the page sends the borrower to their payment history. It renders without the
    # database: as an anonymous visitor, language from the cookie, the link or the browser.
    current_app.logger.error("database unavailable: %s", error.orig)
    mark_database_unavailable()
    response = make_response(_page(503, "database"))
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def init_app(app: Flask) -> None:
    # Every handler rolls back first: a failed request leaves nothing half done.
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        abandon_request()
        return _page(400, "form_expired")

    @app.errorhandler(HTTPException)
    def http_error(error):
        abandon_request()
        return _page(error.code or 500)

    @app.errorhandler(DBAPIError)
    def database_error(error):
        abandon_request()
        return database_error_response(error)

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error")
        abandon_request()
        return _page(500)
