"""Reminder links, verification, sign-in and out, language switch. Decisions live in service.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from portal.access import service, sessions
from portal.access.forms import LanguageForm, SignInForm, SignOutForm, VerifyForm
from portal.database import get_without_transaction
from portal.extensions import limiter
from portal.i18n import LOCALE_COOKIE
from portal.models import SignInMethod
from portal.security import use_referrer_policy

bp = Blueprint("access", __name__)

# Requests, not failures: a cap on how fast one address may even try.
POST_RATE = "30 per minute"
LINK_PROBLEM_STATUS = {"unknown": 404, "expired": 410, "revoked": 410, "missing": 400}


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect through next=."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("access.home")


@bp.get("/")
@get_without_transaction
def home():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.dashboard"))
    return render_template("access/sign_in.html", form=SignInForm())


@bp.get("/r/<code>")
@get_without_transaction
def open_link(code: str):
    found = service.look_up_link(code)
    link = found.link
    if found.problem or link is None:
        problem = found.problem or "unknown"
        lender = link.account.lender if link else None
        return render_template("access/link_problem.html", problem=problem, lender=lender), LINK_PROBLEM_STATUS[problem]
    session["link_id"] = link.id
    session["link_tz"] = link.account.borrower.timezone
    if link.locale:
        session["link_locale"] = link.locale
    # Move on to a URL without the code, so that it appears in no later Referer or history
    # entry. (Every page already sends Referrer-Policy: same-origin, which keeps it out of
    # other sites' logs while Flask-WTF's HTTPS Referer check still works.)
    use_referrer_policy("no-referrer")
    return redirect(url_for("access.verify"), code=303)


def _link_missing():
    return render_template("access/link_problem.html", problem="missing", lender=None), LINK_PROBLEM_STATUS["missing"]


@bp.get("/verify")
@get_without_transaction
def verify():
    link = service.get_usable_link(session.get("link_id"))
    if link is None:
        return _link_missing()
    locked = service.current_lock(link.account, _client_ip())
    return render_template("access/verify.html", form=VerifyForm(), lender=link.account.lender, result=locked), (
        429 if locked else 200
    )


@bp.post("/verify")
@limiter.limit(POST_RATE)
def verify_submit():
    link = service.get_usable_link(session.get("link_id"))
    if link is None:
        return _link_missing()
    lender = link.account.lender
    form = VerifyForm()
    if not session.get("link_counted"):
        service.record_open(link)
        session["link_counted"] = True
    if not form.validate():
        return render_template("access/verify.html", form=form, lender=lender), 400
    result = service.verify_link(link, form.date_of_birth.date, form.id_last4.data, _client_ip())
    return _finish_verification(result, SignInMethod.LINK, "access/verify.html", form, lender=lender)


@bp.get("/sign-in")
@get_without_transaction
def sign_in():
    return render_template("access/sign_in.html", form=SignInForm())


@bp.post("/sign-in")
@limiter.limit(POST_RATE)
def sign_in_submit():
    form = SignInForm()
    if not form.validate():
        return render_template("access/sign_in.html", form=form), 400
    result = service.verify_account_number(
        form.account_number.data, form.date_of_birth.date, form.id_last4.data, _client_ip()
    )
    return _finish_verification(result, SignInMethod.SIGN_IN, "access/sign_in.html", form)


def _finish_verification(result: service.Verification, method: str, template: str, form, **context):
    if result.borrower is None:
        status = 429 if result.locked_until else 400
        return render_template(template, form=form, result=result, **context), status
    sessions.sign_in(sessions.start(result.borrower, method))
    return redirect(url_for("accounts.dashboard"), code=303)


@bp.post("/sign-out")
def sign_out():
    form = SignOutForm()
    if not form.validate():
        abort(400)
    if current_user.is_authenticated:
        sessions.end(current_user._get_current_object())
    return redirect(url_for("access.signed_out"), code=303)


@bp.get("/signed-out")
@get_without_transaction
def signed_out():
    reason = request.args.get("reason")
    if reason not in ("idle", "expired"):
        reason = "signed_out"
    idle_minutes = current_app.config["IDLE_TIMEOUT_SECONDS"] // 60
    lifetime_hours = int(sessions.ABSOLUTE_LIFETIME.total_seconds() // 3600)
    return render_template(
        "access/signed_out.html", reason=reason, idle_minutes=idle_minutes, lifetime_hours=lifetime_hours
    )


@bp.post("/language")
def choose_language():
    form = LanguageForm()
    target = _safe_next(form.next.data)
    chosen = form.chosen()
    if not form.validate() or chosen is None:
        abort(400)
    if current_user.is_authenticated:
        service.remember_locale(current_user.borrower.id, chosen)
    response = redirect(target, code=303)
    response.set_cookie(
        LOCALE_COOKIE,
        chosen,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
