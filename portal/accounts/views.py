from flask import Blueprint, abort, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.accounts import service
from portal.database import get_without_transaction
from portal.models import AccountStatus
from portal.payments.messages import PAYMENT_LABELS
from portal.payments.service import history
from portal.plans import service as plans
from portal.rights import service as rights
from portal.rights.content import has_content
from portal.rights.forms import CHANNEL_LABELS
from portal.signed_in import own_account

bp = Blueprint("accounts", __name__)

STATUS_LABELS = {
    AccountStatus.OVERDUE: _l("Overdue"),
    AccountStatus.IN_PLAN: _l("On a repayment plan"),
    AccountStatus.DISPUTED: _l("Disputed — collection contact paused until you have an answer"),
    AccountStatus.SETTLED: _l("Settled"),
    AccountStatus.CLOSED: _l("Closed"),
}
FEATURE_TITLES = {
    "rights": _l("Your rights"),
}


@bp.get("/dashboard")
@get_without_transaction
@login_required
def dashboard():
    borrower = current_user.borrower
    accounts = service.accounts_of(borrower)
    return render_template(
        "accounts/dashboard.html",
        plans=plans.open_plans([account.id for account in accounts]),
        today=plans.local_today(borrower.timezone),
        borrower=borrower,
        lender=borrower.lender,
        accounts=accounts,
        totals=service.overdue_totals(accounts),
        status_labels=STATUS_LABELS,
        preferences=rights.current_preferences(borrower.id),
        disputes=rights.open_disputes_by_account(borrower.id),
        channel_labels=CHANNEL_LABELS,
        rights_content=has_content(borrower.lender.jurisdiction),
    )


@bp.get("/accounts/<int:account_id>")
@get_without_transaction
@login_required
def account(account_id: int):
    found = own_account(current_user.borrower, account_id)
    if found is None:
        abort(404)
    return render_template(
        "accounts/account.html",
        account=found,
        plan=plans.open_plans([found.id]).get(found.id),
        today=plans.local_today(current_user.borrower.timezone),
        lender=found.lender,
        payments=history(found),
        status_labels=STATUS_LABELS,
        # Translated once here, not again on every row of a long history.
        payment_labels={status: str(label) for status, label in PAYMENT_LABELS.items()},
    )


@bp.get("/coming-soon/<feature>")
@get_without_transaction
@login_required
def coming_soon(feature: str):
    if feature not in FEATURE_TITLES:
        abort(404)
    return render_template(
        "accounts/coming_soon.html", feature=feature, titles=FEATURE_TITLES, lender=current_user.borrower.lender
    )
