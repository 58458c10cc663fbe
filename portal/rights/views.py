"""The rights centre's pages. Public pages (``/rights``, ``/rights/<page>``, ``/genuine``) are
the same for everybody: no sign-in, no cookie, cacheable. The forms that exercise a right are
for the signed-in borrower and confirmed with a one-time SMS code."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import refresh
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from portal.database import abandon_request, get_without_transaction
from portal.evidence import service as evidence
from portal.extensions import db
from portal.i18n import LOCALE_COOKIE, negotiate, supported
from portal.models import (
    Account,
    Borrower,
    ContactChannel,
    DisputeReason,
    DisputeStatus,
    DocumentKind,
    Lender,
    OtpChallenge,
)
from portal.otp.forms import too_many_message
from portal.otp.service import TooManyCodes
from portal.rights import content as words
from portal.rights import service
from portal.rights.forms import (
    DISPUTE_STATUS_LABELS,
    DOCUMENT_LABELS,
    DOCUMENT_STATUS_LABELS,
    REASON_LABELS,
    ConfirmForm,
    DisputeForm,
    DocumentForm,
    PreferencesForm,
)
from portal.security import public_page
from portal.signed_in import own_account

bp = Blueprint("rights", __name__)


# --- public pages ---------------------------------------------------------------------------


def _region() -> str:
    asked = (request.args.get("region") or "").upper()
    if asked and not words.has_content(asked):
        abort(404)
    return asked or words.DEFAULT_REGION


def _choose_public_locale(region: str) -> str:
    """The address's ?lang=, the language switch's cookie, the browser, then the region's
    script: never the signed-in borrower, so that the page is the same for everybody."""
    locale = (
        supported(request.args.get("lang"))
        or supported(request.cookies.get(LOCALE_COOKIE))
        or negotiate(request.headers.get("Accept-Language"))
        or words.default_locale(region)
    )
    g.locale = locale
    refresh()
    return locale


def _region_arg(region: str) -> str | None:
    """The ?region= of links: none for the default, so the printed addresses stay short."""
    return None if region == words.DEFAULT_REGION else region


def _link_target(to: str, region: str, locale: str) -> str:
    kind, _, name = to.partition(":")
    if kind == "page" and name == "genuine":
        return url_for("rights.genuine", region=_region_arg(region), lang=locale)
    if kind == "page":
        return url_for("rights.page", name=name, region=_region_arg(region), lang=locale)
    return ACTIONS[name]()


ACTIONS = {
    "dispute": lambda: url_for("rights.dispute"),
    "documents": lambda: url_for("rights.documents"),
    "preferences": lambda: url_for("rights.preferences"),
    "complaint": lambda: url_for("accounts.coming_soon", feature="complaint"),
}


def _public(template: str, region: str, **context):
    locale = _choose_public_locale(region)
    text = words.content(locale, region)
    return render_template(
        template,
        text=text,
        region=region,
        region_arg=_region_arg(region),
        locale=locale,
        link_target=lambda to: _link_target(to, region, locale),
        lang_url=lambda code: url_for(
            request.endpoint or "rights.index",
            **(request.view_args or {}),
            region=_region_arg(region),
            lang=code,
        ),
        **context,
    )


@bp.get("/rights")
@get_without_transaction
@public_page
def index():
    return _public("rights/index.html", _region(), pages=words.PAGES)


@bp.get("/rights/<name>")
@get_without_transaction
@public_page
def page(name: str):
    if name not in words.PAGES:
        abort(404)
    region = _region()
    return _public("rights/page.html", region, name=name)


@bp.get("/genuine")
@get_without_transaction
@public_page
def genuine():
    lenders = db.session.execute(select(Lender).order_by(Lender.name)).scalars().all()
    return _public(
        "rights/genuine.html",
        _region(),
        lenders=lenders,
        official=current_app.config["PORTAL_BASE_URL"],
    )


# --- disputes -------------------------------------------------------------------------------


def _account_choices():
    return [SelectChoice(str(a.id), f"{a.product} {a.masked_number}") for a in current_user.borrower.accounts]


def _orm_account(account_id: str) -> Account:
    found = own_account(current_user.borrower, int(account_id))
    if found is None:
        abort(404)
    return db.session.get_one(Account, found.id)


def _dispute_page(form, refusals=(), status=200):
    return render_template(
        "rights/dispute.html",
        form=form,
        refusals=refusals,
        max_files=evidence.MAX_FILES,
        max_mb=evidence.MAX_FILE_MB,
    ), status


@bp.get("/my-rights/dispute")
@get_without_transaction
@login_required
def dispute():
    form = DisputeForm(account=request.args.get("account"))
    form.account.choices = _account_choices()
    return _dispute_page(form)


@bp.post("/my-rights/dispute")
@login_required
def dispute_submit():
    form = DisputeForm()
    form.account.choices = _account_choices()
    if not form.validate():
        return _dispute_page(form, status=400)
    files = [f for f in request.files.getlist("evidence") if f and f.filename]
    accepted, refusals = [], []
    for upload in files:
        outcome = evidence.check_upload(upload.filename, upload.read(), files_so_far=len(accepted))
        (accepted if isinstance(outcome, evidence.Accepted) else refusals).append(outcome)
    if refusals:
        return _dispute_page(form, [r.message for r in refusals], 400)
    try:
        created, _ = service.start_dispute(
            _orm_account(form.account.data),
            DisputeReason(form.reason.data),
            form.explanation.data,
            accepted,
            locale=str(g.get("locale") or current_user.borrower.locale),
        )
    except TooManyCodes as error:
        abandon_request()
        form.form_errors.append(_too_many(error))
        return _dispute_page(form, status=429)
    return redirect(url_for("rights.dispute_confirm", reference=created.reference), code=303)


def _too_many(error: TooManyCodes) -> str:
    return too_many_message(error)


def _own_dispute(reference: str):
    found = service.find_dispute(reference)
    if found is None or found.borrower_id != current_user.borrower.id:
        abort(404)
    return found


def _confirm_page(found, form, status=200):
    return render_template(
        "rights/dispute_confirm.html",
        dispute=found,
        form=form,
        reason_labels=REASON_LABELS,
        files=evidence.files_of(evidence.EvidenceOwner.DISPUTE, found.reference),
        phone_ending=current_user_phone_ending(),
    ), status


def current_user_phone_ending() -> str:
    phone = db.session.execute(select(Borrower.phone_e164).where(Borrower.id == current_user.borrower.id)).scalar_one()
    return phone[-4:]


@bp.get("/my-rights/disputes/<reference>/confirm")
@get_without_transaction
@login_required
def dispute_confirm(reference: str):
    found = _own_dispute(reference)
    if found.status is not DisputeStatus.AWAITING_CODE:
        return redirect(url_for("rights.dispute_status", reference=found.reference), code=303)
    return _confirm_page(found, ConfirmForm(formdata=None))


@bp.post("/my-rights/disputes/<reference>/confirm")
@login_required
def dispute_confirm_submit(reference: str):
    found = _own_dispute(reference)
    form = ConfirmForm()
    if found.status is not DisputeStatus.AWAITING_CODE:
        return redirect(url_for("rights.dispute_status", reference=found.reference), code=303)
    if form.wants_new_code:
        try:
            service.send_dispute_code(found, locale=str(g.get("locale") or "zh_Hans"))
        except TooManyCodes as error:
            form.show_too_many(error)
            return _confirm_page(found, form, 429)
        return redirect(url_for("rights.dispute_confirm", reference=found.reference), code=303)
    if not form.validate():
        return _confirm_page(found, form, 400)
    outcome = service.confirm_dispute(found, _latest_challenge(service.dispute_subject(found)), form.code.data)
    if form.show_outcome(outcome):
        return _confirm_page(found, form, 400)
    return redirect(url_for("rights.dispute_status", reference=found.reference), code=303)


def _latest_challenge(subject: str) -> str:
    """The newest code sent for this subject: only the newest works (portal/otp)."""
    return (
        db.session.execute(
            select(OtpChallenge.public_id)
            .where(OtpChallenge.subject == subject, OtpChallenge.borrower_id == current_user.borrower.id)
            .order_by(OtpChallenge.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        or ""
    )


@bp.get("/my-rights/disputes/<reference>")
@get_without_transaction
@login_required
def dispute_status(reference: str):
    found = _own_dispute(reference)
    if found.status is DisputeStatus.AWAITING_CODE:
        return redirect(url_for("rights.dispute_confirm", reference=found.reference), code=303)
    account = own_account(current_user.borrower, found.account_id)
    return render_template(
        "rights/dispute_status.html",
        dispute=found,
        DisputeStatus=DisputeStatus,
        status_labels=DISPUTE_STATUS_LABELS,
        account=account,
        reason_labels=REASON_LABELS,
        files=evidence.files_of(evidence.EvidenceOwner.DISPUTE, found.reference),
    )


# --- your requests --------------------------------------------------------------------------


@bp.get("/my-rights")
@get_without_transaction
@login_required
def requests():
    borrower_id = current_user.borrower.id
    return render_template(
        "rights/requests.html",
        disputes=service.disputes_of(borrower_id),
        documents=service.document_requests_of(borrower_id),
        accounts={a.id: a for a in current_user.borrower.accounts},
        document_labels=DOCUMENT_LABELS,
        reason_labels=REASON_LABELS,
        DisputeStatus=DisputeStatus,
        status_labels=DISPUTE_STATUS_LABELS,
        document_status_labels=DOCUMENT_STATUS_LABELS,
    )


# --- documents ------------------------------------------------------------------------------


def _documents_page(form, confirm=None, status=200):
    return render_template("rights/documents.html", form=form, confirm=confirm, phone_ending=_ending()), status


def _ending() -> str:
    return current_user_phone_ending() if current_user.is_authenticated else ""


@bp.get("/my-rights/documents")
@get_without_transaction
@login_required
def documents():
    form = DocumentForm(account=request.args.get("account"))
    form.account.choices = _account_choices()
    return _documents_page(form)


@bp.post("/my-rights/documents")
@login_required
def documents_submit():
    form = DocumentForm()
    form.account.choices = _account_choices()
    if not form.validate():
        return _documents_page(form, status=400)
    account = _orm_account(form.account.data)
    kinds = tuple(DocumentKind(k) for k in form.documents.data)
    if "confirm" in request.form:  # the code step's Confirm button; "Send a new code" sends again
        confirm = ConfirmForm()
        if confirm.validate():
            subject = service.document_subject(account.id, kinds)
            outcome, _ = service.confirm_documents(account, kinds, _latest_challenge(subject), confirm.code.data)
            if not confirm.show_outcome(outcome):
                return redirect(url_for("rights.requests"), code=303)
        return _documents_page(form, confirm, 400)
    confirm = ConfirmForm(formdata=None)
    try:
        service.send_document_code(account, kinds, locale=str(g.get("locale") or "zh_Hans"))
    except TooManyCodes as error:
        confirm.show_too_many(error)
        return _documents_page(form, confirm, 429)
    return _documents_page(form, confirm)


# --- contact preferences --------------------------------------------------------------------


def _preferences_form(**kwargs) -> PreferencesForm:
    lender = current_user.borrower.lender
    return PreferencesForm(
        window=service.CONTACT_WINDOW[lender.jurisdiction],
        stop_granted=lender.jurisdiction in service.STOP_CONTACT_GRANTED,
        **kwargs,
    )


def _preferences_page(form, confirm=None, status=200):
    lender = current_user.borrower.lender
    return render_template(
        "rights/preferences.html",
        form=form,
        confirm=confirm,
        phone_ending=_ending(),
        window=service.CONTACT_WINDOW[lender.jurisdiction],
        stop_granted=lender.jurisdiction in service.STOP_CONTACT_GRANTED,
    ), status


@bp.get("/my-rights/contact")
@get_without_transaction
@login_required
def preferences():
    saved = service.current_preferences(current_user.borrower.id)
    if saved is None:
        window = service.CONTACT_WINDOW[current_user.borrower.lender.jurisdiction]
        defaults = {
            "channels": [str(c) for c in service.DEFAULT_CHANNELS],
            "hours_from": "09:00" if window[0] <= "09:00" else window[0],
            "hours_until": "20:00" if "20:00" <= window[1] else window[1],
            "language": current_user.borrower.locale,
        }
    else:
        defaults = {
            "channels": [str(c) for c in saved.channels],
            "hours_from": saved.hours_from,
            "hours_until": saved.hours_until,
            "language": saved.language,
            "only_me": saved.only_me,
            "stop_contact": saved.stop_contact,
        }
    return _preferences_page(_preferences_form(data=defaults))


@bp.post("/my-rights/contact")
@login_required
def preferences_submit():
    form = _preferences_form()
    if not form.validate():
        return _preferences_page(form, status=400)
    chosen = service.Preferences(
        channels=tuple(c for c in ContactChannel if str(c) in form.channels.data),
        hours_from=form.hours_from.data,
        hours_until=form.hours_until.data,
        language=form.language.data,
        only_me=bool(form.only_me.data),
        stop_contact=bool(form.stop_contact.data),
    )
    borrower = db.session.get_one(Borrower, current_user.borrower.id)
    if "confirm" in request.form:
        confirm = ConfirmForm()
        if confirm.validate():
            outcome = service.confirm_preferences(
                borrower,
                chosen,
                _latest_challenge(service.preferences_subject(borrower.id, chosen)),
                confirm.code.data,
            )
            if not confirm.show_outcome(outcome):
                return redirect(url_for("accounts.dashboard", _anchor="contact"), code=303)
        return _preferences_page(form, confirm, 400)
    confirm = ConfirmForm(formdata=None)
    try:
        service.send_preferences_code(borrower, chosen, locale=str(g.get("locale") or "zh_Hans"))
    except TooManyCodes as error:
        confirm.show_too_many(error)
        return _preferences_page(form, confirm, 429)
    return _preferences_page(form, confirm)
