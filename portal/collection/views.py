"""The borrower's contact history: every collection contact on one of their own accounts."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from portal.collection import labels, service
from portal.collection.rules import RULES
from portal.database import get_without_transaction
from portal.signed_in import own_account

bp = Blueprint("collection", __name__)


@bp.get("/accounts/<int:account_id>/contacts")
@get_without_transaction
@login_required
def history(account_id: int):
    borrower = current_user.borrower
    account = own_account(borrower, account_id)  # only the signed-in borrower's own accounts
    if account is None:
        abort(404)
    contacts = service.history(account.id)
    jurisdiction = borrower.lender.jurisdiction
    return render_template(
        "collection/history.html",
        account=account,
        lender=borrower.lender,
        contacts=contacts,
        counters=service.counters(contacts, jurisdiction, borrower.timezone),
        rules=RULES,
        channel_labels=labels.COLLECTION_CHANNEL_LABELS,
        party_labels=labels.PARTY_LABELS,
        outcome_labels=labels.OUTCOME_LABELS,
        direction_labels=labels.DIRECTION_LABELS,
        explanations=labels.RULE_EXPLANATIONS,
        counter_labels=labels.COUNTER_LABELS,
        week_count=labels.WEEK_COUNT,
    )
