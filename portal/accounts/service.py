"""What the borrower sees about their own loans. Always scoped to one borrower."""

from __future__ import annotations

from portal.signed_in import AccountSnapshot, BorrowerSnapshot


def accounts_of(borrower: BorrowerSnapshot) -> list[AccountSnapshot]:
    """The borrower's accounts, most overdue first.

    The signed-in read model (portal/signed_in.py) already holds them: no query on a borrower page.
    """
    return sorted(borrower.accounts, key=lambda account: (-account.days_past_due, account.id))


def overdue_totals(accounts: list[AccountSnapshot]) -> list[tuple[str, int]]:
    """The total overdue per currency: [(currency, minor units)], one entry per currency."""
    totals: dict[str, int] = {}
    for account in accounts:
        totals[account.currency] = totals.get(account.currency, 0) + account.overdue_minor
    return list(totals.items())
