"""What the borrower sees about their own loans. Always scoped to one borrower."""

from __future__ import annotations

from portal.models import Account, Borrower


def accounts_of(borrower: Borrower) -> list[Account]:
    """The borrower's accounts, most overdue first.

    ``borrower.accounts`` is loaded with the sign-in session (access/sessions.py), so this
    costs no query on a borrower page; elsewhere it is one query, whatever the number.
    """
    return sorted(borrower.accounts, key=lambda account: (-account.days_past_due, account.id))


def overdue_totals(accounts: list[Account]) -> list[tuple[str, int]]:
    """The total overdue per currency: [(currency, minor units)], one entry per currency."""
    totals: dict[str, int] = {}
    for account in accounts:
        totals[account.currency] = totals.get(account.currency, 0) + account.overdue_minor
    return list(totals.items())


def own_account(borrower: Borrower, account_id: int) -> Account | None:
    """An account of this borrower, or None: another borrower's account does not exist here."""
    return next((account for account in borrower.accounts if account.id == account_id), None)
