"""Every error is a page that says what happened and what to do next, never a stack trace."""

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.extensions import db

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
    return render_template("errors/error.html", status=shown, reason=reason,
                           headings=HEADINGS), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _page(400, "form_expired")

    @app.errorhandler(HTTPException)
    def http_error(error):
        return _page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return _page(500)
