"""The complaint form in steps, its receipt, and the status page. Decisions live in service.py.

The draft is found through its own cookie (path /complaint, lasting as long as the draft), so
what was typed survives a sign-out, an expired session or a closed tab. GET pages only read.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from portal.collection import service as collection
from portal.collection.labels import RULE_EXPLANATIONS
from portal.complaints import labels, service
from portal.complaints.forms import (
    AboutForm,
    ConfirmForm,
    DetailsForm,
    OpenOwnForm,
    OutcomeForm,
    ReviewForm,
    StatusCodeForm,
    StatusForm,
    WhatForm,
    WhenForm,
)
from portal.complaints.messages import receipt_sms
from portal.database import get_without_transaction
from portal.evidence import service as evidence
from portal.extensions import db, limiter
from portal.models import (
    Account,
    Borrower,
    CollectionContact,
    Complaint,
    ComplaintCategory,
    ComplaintDraft,
    Lender,
    OtpPurpose,
    SmsPurpose,
)
from portal.models.types import utcnow
from portal.otp import service as otp
from portal.sms import service as sms
from portal.viewer import signed_in

bp = Blueprint("complaints", __name__)

DRAFT_COOKIE = "portal_complaint"
RECEIPT_KEY = "complaint_receipt"
STATUS_KEY = "complaint_status"
STATUS_VIEW_FOR = timedelta(minutes=30)
POST_RATE = "30 per minute"
STEPS = {
    "about": (AboutForm, _l("About you")),
    "what": (WhatForm, _l("What happened")),
    "when": (WhenForm, _l("When and who")),
    "details": (DetailsForm, _l("Your account of it and evidence")),
    "outcome": (OutcomeForm, _l("What you would like")),
}
TOO_LARGE = _l("That file is larger than %(size)s MB. Please send a smaller file, for example a shorter recording.")
NOT_FOUND = _l(
    "We could not find a complaint with this reference. Please check it against the text message we sent you."
)
STEP_ENDPOINTS = {name: f"complaints.{name}" for name in STEPS}


@bp.url_value_preprocessor
def _allow_evidence_uploads(endpoint, values):
    # Runs before the CSRF check reads the form: one evidence file and the form around it.
    if endpoint == "complaints.details_submit":
        request.max_content_length = evidence.MAX_REQUEST_BYTES


def _borrower() -> Borrower | None:
    user = signed_in()
    return db.session.get(Borrower, user.borrower.id) if user else None


def _draft() -> ComplaintDraft | None:
    """The open draft of this device; a borrower's draft only while that borrower is signed in
    (after signing out, the next person on a shared phone sees nothing of it)."""
    draft = service.find_draft(request.cookies.get(DRAFT_COOKIE))
    if draft is not None and draft.borrower_id is not None:
        user = signed_in()
        if user is None or user.borrower.id != draft.borrower_id:
            return None
    return draft


def _steps(draft: ComplaintDraft) -> list[str]:
    return [s for s in STEPS if s != "about" or draft.borrower_id is None]


def _lenders() -> list[Lender]:
    return list(db.session.execute(select(Lender).order_by(Lender.name)).scalars())


def _form(step: str, draft: ComplaintDraft, *, posted: bool):
    form_class = STEPS[step][0]
    kwargs = {"lenders": _lenders()} if step == "about" else {}
    if posted:
        return form_class(**kwargs)
    values = service.step_values(draft, step)
    if step == "when":
        values.setdefault(
            "timezone", str(get_timezone()) if str(get_timezone()) in labels.TIMEZONE_LABELS else "Asia/Shanghai"
        )
    return form_class(formdata=None, data=values, **kwargs)


def _render(step: str, draft: ComplaintDraft, form, status: int = 200, notice: str | None = None):
    steps = _steps(draft)
    return (
        render_template(
            f"complaints/{step}.html",
            form=form,
            step=step,
            number=steps.index(step) + 1,
            total=len(steps) + 1,  # and the review
            title=STEPS[step][1],
            files=service.draft_files(draft) if step == "details" else [],
            limits={"files": evidence.MAX_FILES, "megabytes": evidence.MAX_FILE_MB},
            notice=notice,
            draft_days=service.DRAFT_LIFETIME.days,
        ),
        status,
    )


def _neighbour(draft: ComplaintDraft, step: str, offset: int) -> str:
    steps = _steps(draft)
    index = steps.index(step) + offset
    if index < 0:
        return url_for("complaints.start")
    if index >= len(steps):
        return url_for("complaints.review")
    return url_for(STEP_ENDPOINTS[steps[index]])


def _show_step(step: str):
    draft = _draft()
    if draft is None or step not in _steps(draft):
        return redirect(url_for("complaints.start"))
    return _render(step, draft, _form(step, draft, posted=False))


def _save_step(step: str):
    draft = _draft()
    if draft is None or step not in _steps(draft):
        return redirect(url_for("complaints.start"), 303)
    form = _form(step, draft, posted=True)
    valid = form.validate()
    if step == "details":
        upload = request.files.get("evidence")
        if upload is not None and upload.filename:
            with upload.stream:  # a large upload is spooled to a temporary file: closed at once
                data = upload.read()
            checked = service.add_file(draft, upload.filename, data)
            if isinstance(checked, evidence.Refused):
                form.evidence.errors = [checked.message]
                valid = False
        elif form.upload.data:
            form.evidence.errors = [str(_l("Please choose a file first."))]
    service.save_step(
        draft, step, form.kept_values(), complete=valid and not form.evidence.errors if step == "details" else valid
    )
    if form.back.data:
        return redirect(_neighbour(draft, step, -1), 303)
    if step == "details" and form.upload.data and not form.evidence.errors:
        return redirect(url_for("complaints.details") + "#files", 303)
    if not valid:
        return _render(step, draft, form, 400)
    return redirect(_neighbour(draft, step, +1), 303)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    """A file far over the limit never reaches the view: show the step again with what the
    draft holds and say what to do."""
    from portal.database import abandon_request

    abandon_request()
    draft = _draft()
    if request.endpoint == "complaints.details_submit" and draft is not None:
        form = _form("details", draft, posted=False)
        form.evidence.errors = [str(TOO_LARGE) % {"size": evidence.MAX_FILE_MB}]
        return _render("details", draft, form, 413)
    return render_template(
        "errors/error.html", status=413, reason=None, headings={413: _l("What you sent is too large")}
    ), 413


@bp.errorhandler(CSRFError)
def _form_expired(error):
    """The page was open too long: show the step again with what was typed and a fresh token."""
    from portal.database import abandon_request

    abandon_request()
    step = (request.endpoint or "").removeprefix("complaints.").removesuffix("_submit")
    draft = _draft()
    if step in STEPS and draft is not None and step in _steps(draft):
        form = _form(step, draft, posted=True)
        notice = str(
            _l("This page was open for a long time. Nothing you typed is lost: please press the button again.")
        )
        return _render(step, draft, form, 400, notice=notice)
    return render_template(
        "errors/error.html", status=400, reason="form_expired", headings={400: _l("We could not complete that")}
    ), 400


# --- start --------------------------------------------------------------------------------


def _reported_contact(value) -> CollectionContact | None:
    """The contact a signed-in borrower chose to report from their contact history; nobody
    else's, and nothing for a visitor who is not signed in."""
    user = signed_in()
    contact_id = (
        value if isinstance(value, int) else (int(value) if isinstance(value, str) and value.isdigit() else None)
    )
    if user is None or contact_id is None:
        return None
    return collection.own_contact(user.borrower.id, contact_id)


@bp.get("/complaint")
@get_without_transaction
def start():
    borrower = signed_in()
    return render_template(
        "complaints/start.html",
        draft=_draft(),
        borrower=borrower.borrower if borrower else None,
        contact=_reported_contact(request.args.get("contact")),
    )


@bp.post("/complaint/start")
@limiter.limit(POST_RATE)
def begin():
    draft = _draft()
    borrower = _borrower()
    contact = _reported_contact(request.form.get("contact"))
    if contact is not None or draft is None or draft.borrower_id != (borrower.id if borrower else None):
        draft = service.start_draft(borrower_id=borrower.id if borrower else None)
    if contact is not None and borrower is not None:
        # Rules with no category of their own are described in the borrower's language.
        other = " ".join(
            str(RULE_EXPLANATIONS[rule])
            for rule in contact.breaches
            if service.CATEGORY_FOR_RULE.get(rule) == ComplaintCategory.OTHER
        )
        service.prefill_from_contact(draft, contact, borrower.timezone, other[:200])
    response = redirect(url_for(STEP_ENDPOINTS[_steps(draft)[0]]), 303)
    response.set_cookie(
        DRAFT_COOKIE,
        draft.public_id,
        max_age=int(service.DRAFT_LIFETIME.total_seconds()),
        path="/complaint",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


# --- the steps (one pair of routes each: no URL argument to guess) ---------------------------


@bp.get("/complaint/about")
@get_without_transaction
def about():
    return _show_step("about")


@bp.post("/complaint/about")
@limiter.limit(POST_RATE)
def about_submit():
    return _save_step("about")


@bp.get("/complaint/what")
@get_without_transaction
def what():
    return _show_step("what")


@bp.post("/complaint/what")
@limiter.limit(POST_RATE)
def what_submit():
    return _save_step("what")


@bp.get("/complaint/when")
@get_without_transaction
def when():
    return _show_step("when")


@bp.post("/complaint/when")
@limiter.limit(POST_RATE)
def when_submit():
    return _save_step("when")


@bp.get("/complaint/details")
@get_without_transaction
def details():
    return _show_step("details")


@bp.post("/complaint/details")
@limiter.limit(POST_RATE)
def details_submit():
    return _save_step("details")


@bp.get("/complaint/outcome")
@get_without_transaction
def outcome():
    return _show_step("outcome")


@bp.post("/complaint/outcome")
@limiter.limit(POST_RATE)
def outcome_submit():
    return _save_step("outcome")


# --- review, code, receipt -------------------------------------------------------------------


def _filing(draft: ComplaintDraft):
    """The draft's steps as a service.Filing, or the first step that is not complete."""
    done = service.completed_steps(draft)
    for step in _steps(draft):
        if step not in done:
            return None, step
    borrower = db.session.get(Borrower, draft.borrower_id) if draft.borrower_id else None
    about = service.step_values(draft, "about")
    what = service.step_values(draft, "what")
    when = service.step_values(draft, "when")
    detail = service.step_values(draft, "details")
    wanted = service.step_values(draft, "outcome")
    if borrower is not None:
        lender = borrower.lender
        accounts = [a for a in borrower.accounts]
        account = accounts[0] if accounts else None
        name, phone = borrower.name, borrower.phone_e164
    else:
        lenders = _lenders()
        lender = next((item for item in lenders if item.code == about.get("lender")), None) or (
            lenders[0] if lenders else None
        )
        if lender is None:
            return None, "about"
        account = service.matching_account(lender, about.get("account_number"))
        name, phone = about.get("name", ""), labels.phone_parses(about.get("phone", "")) or ""
    region = service.PHONE_REGION.get(service.Jurisdiction(lender.jurisdiction), "CN")
    caller = when.get("caller_number") or None
    filing = service.Filing(
        lender=lender,
        role=service.ComplainantRole.BORROWER if borrower else service.ComplainantRole.THIRD_PARTY,
        complainant_name=name,
        complainant_phone_e164=phone,
        categories=[service.ComplaintCategory(c) for c in what.get("categories", [])],
        category_other=what.get("category_other") or None,
        channel=service.ComplaintChannel(when.get("channel") or "other"),
        incident_at=labels.local_datetime(when.get("incident_date"), when.get("incident_time"), when.get("timezone")),
        incident_timezone=when.get("timezone") or "Asia/Shanghai",
        collector_name=when.get("collector_name") or None,
        collector_agency=when.get("collector_agency") or None,
        caller_number=(labels.phone_parses(caller, any_kind=True, region=region) or caller) if caller else None,
        description=detail.get("description", ""),
        desired_outcomes=[service.DesiredOutcome(o) for o in wanted.get("outcomes", [])],
        desired_other=wanted.get("desired_other") or None,
        answer_by=service.AnswerBy(wanted.get("answer_by") or "sms"),
        complainant_email=wanted.get("email") or None,
        locale=str(get_locale()),
        borrower=borrower,
        account=account,
        relation_to_borrower=about.get("relation") or None,
        borrower_name_given=about.get("borrower_name") or None,
        account_number_given=about.get("account_number") or None,
    )
    return filing, None


def _review_page(draft: ComplaintDraft, filing, form, status: int = 200):
    return (
        render_template(
            "complaints/review.html",
            form=form,
            draft=draft,
            filing=filing,
            files=service.draft_files(draft),
            steps=_steps(draft),
            step_titles={name: title for name, (_, title) in STEPS.items()},
            number=len(_steps(draft)) + 1,
            total=len(_steps(draft)) + 1,
            labels=labels,
        ),
        status,
    )


@bp.get("/complaint/review")
@get_without_transaction
def review():
    draft = _draft()
    if draft is None:
        return redirect(url_for("complaints.start"))
    filing, missing = _filing(draft)
    if filing is None:
        return redirect(url_for(STEP_ENDPOINTS[missing]))
    return _review_page(draft, filing, ReviewForm())


def _send_code(draft: ComplaintDraft, filing) -> otp.Challenge:
    challenge = otp.issue(
        phone_e164=filing.complainant_phone_e164,
        purpose=OtpPurpose.COMPLAINT,
        subject=f"complaint-draft:{draft.public_id}",
        borrower_id=draft.borrower_id,
        locale=str(get_locale()),
        sender_name=filing.lender.name,
    )
    service.save_step(
        draft, "_code", {"challenge": challenge.public_id, "ending": challenge.phone_ending}, complete=False
    )
    return challenge


@bp.post("/complaint/review")
@limiter.limit(POST_RATE)
def review_submit():
    draft = _draft()
    if draft is None:
        return redirect(url_for("complaints.start"), 303)
    filing, missing = _filing(draft)
    if filing is None:
        return redirect(url_for(STEP_ENDPOINTS[missing]), 303)
    form = ReviewForm()
    if not form.validate():
        return _review_page(draft, filing, form, 400)
    try:
        _send_code(draft, filing)
    except otp.TooManyCodes as error:
        from portal.otp.forms import too_many_message

        form.send_code.errors = [too_many_message(error)]
        return _review_page(draft, filing, form, 429)
    return redirect(url_for("complaints.confirm"), 303)


def _confirm_page(draft: ComplaintDraft, form, status: int = 200):
    steps = _steps(draft)
    ending = service.step_values(draft, "_code").get("ending", "")
    return render_template(
        "complaints/confirm.html", form=form, phone_ending=ending, number=len(steps) + 1, total=len(steps) + 1
    ), status


@bp.get("/complaint/confirm")
@get_without_transaction
def confirm():
    draft = _draft()
    if draft is None or not service.step_values(draft, "_code"):
        return redirect(url_for("complaints.review"))
    return _confirm_page(draft, ConfirmForm())


@bp.post("/complaint/confirm")
@limiter.limit(POST_RATE)
def confirm_submit():
    filed = service.filed_complaint(request.cookies.get(DRAFT_COOKIE))
    if filed is not None:  # pressed twice, or the page was reloaded: filed once, shown again
        session[RECEIPT_KEY] = filed.reference
        return redirect(url_for("complaints.receipt"), 303)
    draft = _draft()
    if draft is None:
        return redirect(url_for("complaints.start"), 303)
    filing, missing = _filing(draft)
    if filing is None:
        return redirect(url_for(STEP_ENDPOINTS[missing]), 303)
    form = ConfirmForm()
    if form.wants_new_code:
        try:
            _send_code(draft, filing)
        except otp.TooManyCodes as error:
            form.show_too_many(error)
            return _confirm_page(draft, form, 429)
        return redirect(url_for("complaints.confirm"), 303)
    if not form.validate():
        return _confirm_page(draft, form, 400)
    outcome = otp.verify(
        service.step_values(draft, "_code").get("challenge", ""),
        form.code.data,
        purpose=OtpPurpose.COMPLAINT,
        subject=f"complaint-draft:{draft.public_id}",
    )
    if form.show_outcome(outcome):
        return _confirm_page(draft, form, 400)
    complaint, new = service.submit(draft, filing, ip=request.remote_addr)
    if new:
        sms.send(
            complaint.complainant_phone_e164,
            receipt_sms(complaint, filing.lender),
            purpose=SmsPurpose.COMPLAINT_RECEIVED,
            borrower_id=complaint.borrower_id,
        )
    session[RECEIPT_KEY] = complaint.reference
    return redirect(url_for("complaints.receipt"), 303)


@bp.get("/complaint/receipt")
@get_without_transaction
def receipt():
    complaint = service.find(session.get(RECEIPT_KEY))
    if complaint is None:
        return redirect(url_for("complaints.start"))
    lender = db.session.get_one(Lender, complaint.lender_id)
    return render_template(
        "complaints/receipt.html",
        complaint=complaint,
        lender=lender,
        files=service.files_of(complaint),
        labels=labels,
    )


# --- status ------------------------------------------------------------------------------------


def _status_page(form, status: int = 200):
    user = signed_in()
    mine = service.complaints_of(user.borrower.id) if user else []
    return render_template(
        "complaints/status.html", form=form, mine=mine, open_form=OpenOwnForm(), labels=labels
    ), status


def _show(reference: str):
    session[STATUS_KEY] = {"reference": reference, "until": (utcnow() + STATUS_VIEW_FOR).isoformat()}
    return redirect(url_for("complaints.status_view"), 303)


@bp.get("/complaint/status")
@get_without_transaction
def status():
    return _status_page(StatusForm())


@bp.post("/complaint/status/mine")
@limiter.limit(POST_RATE)
def status_mine():
    """A signed-in borrower opens one of their own complaints: no code needed."""
    user = signed_in()
    form = OpenOwnForm()
    complaint = service.find(form.reference.data) if user and form.validate() else None
    if complaint is None or user is None or complaint.borrower_id != user.borrower.id:
        abort(404)
    return _show(complaint.reference)


@bp.post("/complaint/status")
@limiter.limit(POST_RATE)
def status_submit():
    form = StatusForm()
    if not form.validate():
        return _status_page(form, 400)
    complaint = service.find(form.reference.data)
    if complaint is None:
        form.reference.errors = [str(NOT_FOUND)]
        return _status_page(form, 400)
    lender = db.session.get_one(Lender, complaint.lender_id)
    try:
        challenge = otp.issue(
            phone_e164=complaint.complainant_phone_e164,
            purpose=OtpPurpose.COMPLAINT_STATUS,
            subject=f"complaint:{complaint.reference}",
            borrower_id=complaint.borrower_id,
            locale=str(get_locale()),
            sender_name=lender.name,
        )
    except otp.TooManyCodes as error:
        from portal.otp.forms import too_many_message

        form.reference.errors = [too_many_message(error)]
        return _status_page(form, 429)
    session[STATUS_KEY] = {
        "reference": complaint.reference,
        "challenge": challenge.public_id,
        "ending": challenge.phone_ending,
    }
    return redirect(url_for("complaints.status_code"), 303)


@bp.get("/complaint/status/code")
@get_without_transaction
def status_code():
    pending = session.get(STATUS_KEY) or {}
    if not pending.get("challenge"):
        return redirect(url_for("complaints.status"))
    return render_template("complaints/status_code.html", form=StatusCodeForm(), pending=pending)


@bp.post("/complaint/status/code")
@limiter.limit(POST_RATE)
def status_code_submit():
    pending = session.get(STATUS_KEY) or {}
    if not pending.get("challenge"):
        return redirect(url_for("complaints.status"), 303)
    form = StatusCodeForm()
    if form.wants_new_code:
        return redirect(url_for("complaints.status"), 303)
    if not form.validate():
        return render_template("complaints/status_code.html", form=form, pending=pending), 400
    outcome = otp.verify(
        pending["challenge"],
        form.code.data,
        purpose=OtpPurpose.COMPLAINT_STATUS,
        subject=f"complaint:{pending['reference']}",
    )
    if form.show_outcome(outcome):
        return render_template("complaints/status_code.html", form=form, pending=pending), 400
    return _show(pending["reference"])


@bp.get("/complaint/status/view")
@get_without_transaction
def status_view():
    from datetime import datetime

    seen = session.get(STATUS_KEY) or {}
    until = seen.get("until")
    if not until or datetime.fromisoformat(until) <= utcnow():
        return redirect(url_for("complaints.status"))
    complaint = service.find(seen.get("reference"))
    if complaint is None:
        abort(404)
    return render_template(
        "complaints/status_view.html",
        complaint=complaint,
        lender=db.session.get_one(Lender, complaint.lender_id),
        replies=service.replies(complaint),
        labels=labels,
    )


__all__ = ["Account", "Complaint", "bp"]
