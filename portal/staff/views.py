"""The staff console's pages. Each view names its permission with ``requires`` (or is one of
the sign-in pages in ``PUBLIC``); decisions live in accounts.py and service.py."""

from __future__ import annotations

import functools
from datetime import date

import segno
from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for
from markupsafe import Markup

from portal.database import get_without_transaction
from portal.extensions import limiter
from portal.models import PlanFrequency, PlanKind, RejectionReason, StaffUser
from portal.models.types import utcnow
from portal.plans import arithmetic as calc
from portal.plans.service import PlanRefused
from portal.staff import accounts, service, sessions
from portal.staff.forms import AssistForm, AuditFilterForm, CodeForm, DecisionForm, SearchForm, StaffSignInForm
from portal.staff.permissions import ROLE_LABELS, Permission

bp = Blueprint("staff", __name__, url_prefix="/staff")

POST_RATE = "30 per minute"
# Endpoints anyone may open: signing in. Every other staff endpoint must be in REQUIRED.
PUBLIC = {"staff.sign_in", "staff.sign_in_submit", "staff.two_factor", "staff.two_factor_submit"}
PUBLIC |= {"staff.enrol", "staff.enrol_submit", "staff.sign_out", "staff.signed_out"}
REQUIRED: dict[str, Permission] = {}


def _ip() -> str:
    return request.remote_addr or "unknown"


@bp.before_request
def load_staff():
    g.staff, g.staff_ended = sessions.load()


@bp.after_request
def staff_cookie(response):
    return sessions.write_cookie(response)


@bp.app_context_processor
def staff_context():
    from portal.accounts.views import STATUS_LABELS as account_labels
    from portal.payments.messages import PAYMENT_LABELS
    from portal.plans.messages import KIND_LABELS, STATUS_LABELS
    from portal.rights.forms import DISPUTE_STATUS_LABELS

    return {
        "staff_user": g.get("staff"),
        "role_labels": ROLE_LABELS,
        "account_labels": account_labels,
        "payment_labels": PAYMENT_LABELS,
        "plan_kinds": KIND_LABELS,
        "plan_statuses": STATUS_LABELS,
        "dispute_statuses": DISPUTE_STATUS_LABELS,
        "now": utcnow,
    }


def requires(permission: Permission):
    """Signed-in staff with this permission, else the sign-in page (or 403 for another role)."""

    def decorate(view):
        REQUIRED[f"staff.{view.__name__}"] = permission

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor = g.get("staff")
            if actor is None:
                return redirect(url_for("staff.sign_in", reason=g.get("staff_ended")), code=303)
            if not actor.may(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


# ------------------------------------------------------------------------------ signing in


@bp.get("/")
@get_without_transaction
def sign_in():
    if g.staff is not None:
        return redirect(url_for("staff.console"))
    reason = request.args.get("reason")
    return render_template(
        "staff/sign_in.html", form=StaffSignInForm(), reason=reason if reason in ("idle", "expired") else None
    )


@bp.post("/")
@limiter.limit(POST_RATE)
def sign_in_submit():
    form = StaffSignInForm()
    if not form.validate():
        return render_template("staff/sign_in.html", form=form), 400
    attempt = accounts.check_password(form.username.data, form.password.data, _ip())
    if attempt.staff is None:
        form.password.data = ""
        return render_template("staff/sign_in.html", form=form, attempt=attempt), 429 if attempt.locked_until else 400
    sessions.set_pending(attempt.staff)
    target = "staff.two_factor" if attempt.staff.totp_enrolled_at else "staff.enrol"
    return redirect(url_for(target), code=303)


def _pending() -> StaffUser | None:
    from portal.extensions import db

    staff_id = sessions.pending_staff_id()
    return db.session.get(StaffUser, staff_id) if staff_id is not None else None


@bp.get("/two-factor")
@get_without_transaction
def two_factor():
    if _pending() is None:
        return redirect(url_for("staff.sign_in"), code=303)
    return render_template("staff/two_factor.html", form=CodeForm())


@bp.post("/two-factor")
@limiter.limit(POST_RATE)
def two_factor_submit():
    staff = _pending()
    if staff is None:
        return redirect(url_for("staff.sign_in"), code=303)
    form = CodeForm()
    if not form.validate():
        return render_template("staff/two_factor.html", form=form), 400
    attempt = accounts.check_second_factor(staff.id, form.code.data, _ip())
    if attempt.staff is None:
        return render_template("staff/two_factor.html", form=CodeForm(formdata=None), attempt=attempt), (
            429 if attempt.locked_until else 400
        )
    sessions.start(attempt.staff, _ip())
    return redirect(url_for("staff.console"), code=303)


def _qr_svg(staff: StaffUser) -> Markup:
    svg = segno.make(accounts.provisioning_uri(staff), error="m").svg_inline(scale=4, omitsize=False)
    return Markup(svg)  # noqa: S704 - segno's own SVG markup, built from our data only


@bp.get("/enrol")
@get_without_transaction
def enrol():
    staff = _pending()
    if staff is None or staff.totp_enrolled_at is not None:
        return redirect(url_for("staff.sign_in"), code=303)
    return render_template("staff/enrol.html", form=CodeForm(), qr=_qr_svg(staff), secret=staff.totp_secret)


@bp.post("/enrol")
@limiter.limit(POST_RATE)
def enrol_submit():
    staff = _pending()
    if staff is None or staff.totp_enrolled_at is not None:
        return redirect(url_for("staff.sign_in"), code=303)
    form = CodeForm()
    if not form.validate():
        return render_template("staff/enrol.html", form=form, qr=_qr_svg(staff), secret=staff.totp_secret), 400
    attempt, codes = accounts.enrol(staff.id, form.code.data, _ip())
    if attempt.staff is None:
        return render_template(
            "staff/enrol.html",
            form=CodeForm(formdata=None),
            qr=_qr_svg(staff),
            secret=staff.totp_secret,
            attempt=attempt,
        ), 429 if attempt.locked_until else 400
    sessions.start(attempt.staff, _ip())
    # Shown this once, on this response; only their HMACs are kept.
    return render_template("staff/recovery_codes.html", codes=codes)


@bp.post("/sign-out")
def sign_out():
    from portal.access.forms import SignOutForm

    if not SignOutForm().validate():
        abort(400)
    if g.staff is not None:
        sessions.end_record(g.staff_session_id)
        from portal import audit

        audit.record("staff.signed_out", actor_type="staff", actor_id=g.staff.username, ip=_ip())
    sessions.set_cookie({})
    return redirect(url_for("staff.signed_out"), code=303)


@bp.get("/signed-out")
@get_without_transaction
def signed_out():
    return render_template("staff/signed_out.html")


# ------------------------------------------------------------------------------ agent work


@bp.get("/console")
@get_without_transaction
@requires(Permission.CONSOLE)
def console():
    return render_template("staff/console.html", form=SearchForm(formdata=None))


@bp.get("/search")
@requires(Permission.SEARCH)
def search():
    form = SearchForm(request.args)
    if not form.validate():
        return render_template("staff/console.html", form=form), 400
    hits = service.search(g.staff, service.SearchKind(form.kind.data), form.q.data)
    return render_template("staff/console.html", form=form, hits=hits, searched=True)


@bp.get("/borrowers/<int:borrower_id>")
@requires(Permission.VIEW_BORROWER)
def borrower(borrower_id: int):
    view = service.borrower_view(g.staff, borrower_id)
    if view is None:
        abort(404)
    return render_template(
        "staff/borrower.html", view=view, form=AssistForm(formdata=None), done=request.args.get("done")
    )


def _assist(borrower_id: int, account_id: int, action):
    form = AssistForm()
    if not form.validate():
        view = service.borrower_view(g.staff, borrower_id)
        if view is None:
            abort(404)
        return render_template("staff/borrower.html", view=view, form=form, failed_account=account_id), 400
    if not action(g.staff, borrower_id, account_id, service.IdentifiedBy(form.identified_by.data)):
        abort(404)
    return None


@bp.post("/borrowers/<int:borrower_id>/accounts/<int:account_id>/unlock")
@requires(Permission.ASSIST)
def clear_lockout(borrower_id: int, account_id: int):
    refused = _assist(borrower_id, account_id, service.clear_lockout)
    return refused or redirect(url_for("staff.borrower", borrower_id=borrower_id, done="unlocked"), code=303)


@bp.post("/borrowers/<int:borrower_id>/accounts/<int:account_id>/link")
@requires(Permission.ASSIST)
def send_link(borrower_id: int, account_id: int):
    refused = _assist(borrower_id, account_id, service.send_fresh_link)
    return refused or redirect(url_for("staff.borrower", borrower_id=borrower_id, done="link_sent"), code=303)


@bp.get("/payments/stale")
@requires(Permission.RECONCILE)
def stale_payments():
    return render_template("staff/stale_payments.html", payments=service.stale_payments(g.staff))


# ------------------------------------------------------------------------------ compliance


@bp.get("/audit")
@requires(Permission.AUDIT)
def audit_log():
    form = AuditFilterForm(request.args)
    chosen = form.chosen() if form.validate() else None
    if chosen is None:
        return render_template("staff/audit.html", form=form, events=[]), 400
    return render_template("staff/audit.html", form=form, events=service.audit_log(g.staff, chosen))


@bp.get("/audit.csv")
@requires(Permission.AUDIT)
def audit_export():
    form = AuditFilterForm(request.args)
    chosen = form.chosen() if form.validate() else None
    if chosen is None:
        return render_template("staff/audit.html", form=form, events=[]), 400
    return Response(
        service.audit_csv(g.staff, chosen),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )


# ------------------------------------------------------------------------------ admins


@bp.get("/admin/staff")
@requires(Permission.MANAGE_STAFF)
def staff_list():
    return render_template("staff/staff_list.html", rows=service.staff_list(g.staff), done=request.args.get("done"))


@bp.post("/admin/staff/<int:staff_id>/sessions/end")
@requires(Permission.MANAGE_STAFF)
def end_staff_sessions(staff_id: int):
    if not service.end_staff_sessions(g.staff, staff_id):
        abort(404)
    return redirect(url_for("staff.staff_list", done="ended"), code=303)


@bp.post("/admin/staff/<int:staff_id>/disable")
@requires(Permission.MANAGE_STAFF)
def disable_staff(staff_id: int):
    if not service.disable_staff(g.staff, staff_id):
        abort(404)
    return redirect(url_for("staff.staff_list", done="disabled"), code=303)


# ------------------------------------------------------------------------------ supervisors


@bp.get("/plans")
@requires(Permission.DECIDE_PLANS)
def plan_queue():
    return render_template("staff/plans.html", plans=service.plan_queue(g.staff), form=DecisionForm(formdata=None))


def _counter_proposal(form: DecisionForm, plan_kind: PlanKind, frequency: PlanFrequency | None):
    try:
        count = int(form.instalments.data or "1")
        first = date.fromisoformat(form.first_date.data or "")
    except ValueError:
        return None
    return calc.Proposal(plan_kind, first, count, frequency)


@bp.post("/plans/<public_id>")
@requires(Permission.DECIDE_PLANS)
def decide_plan(public_id: str):
    form = DecisionForm()
    problem = None
    if form.validate():
        proposal = None
        plan = next((p for p in service.plan_queue(g.staff) if p.public_id == public_id), None)
        if plan is None:
            abort(404)
        if form.decision.data == "counter":
            proposal = _counter_proposal(form, plan.kind, plan.frequency)
        if form.decision.data == "counter" and proposal is None:
            problem = "counter_input"
        elif form.decision.data == "reject" and not form.reasons.data:
            problem = "reasons_required"
        else:
            try:
                service.decide_plan(
                    g.staff,
                    public_id,
                    form.decision.data,
                    reasons=[RejectionReason(r) for r in form.reasons.data or []],
                    note=form.note.data or None,
                    proposal=proposal,
                )
                return redirect(url_for("staff.plan_queue", done=public_id), code=303)
            except PlanRefused as refused:
                problem = refused.code
    else:
        problem = "input"
    return render_template(
        "staff/plans.html", plans=service.plan_queue(g.staff), form=form, problem=problem, failed=public_id
    ), 400
