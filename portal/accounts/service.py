"""What the borrower sees about their own loans. Always scoped to one borrower."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, Borrower


def accounts_of(borrower: Borrower) -> list[Account]:
    """The borrower's accounts, most overdue first. One query whatever the number of accounts."""
    return list(
        db.session.execute(
            select(Account)
            .where(Account.borrower_id == borrower.id)
            .order_by(Account.days_past_due.desc(), Account.id)
        ).scalars()
    )


def overdue_totals(accounts: list[Account]) -> list[tuple[str, int]]:
    """The total overdue per currency: [(currency, minor units)], one entry per currency."""
    totals: dict[str, int] = {}
    for account in accounts:
        totals[account.currency] = totals.get(account.currency, 0) + account.overdue_minor
    return list(totals.items())


def own_account(borrower: Borrower, account_id: int) -> Account | None:
    """An account of this borrower, or None: another borrower's account does not exist here."""
    return db.session.execute(
        select(Account).where(Account.id == account_id, Account.borrower_id == borrower.id)
    ).scalar_one_or_none()
