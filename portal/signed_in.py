"""The signed-in read model: what a borrower page knows about its borrower, read once, at the
start of the request, and the one way pages reach an account (``own_account``).

Every borrower page needs the sign-in session, the borrower, their lender and their accounts.
They come in one SQL statement, as plain read-only objects rather than ORM instances: building
four mapped entities with their joined-load bookkeeping cost more than the round trip itself,
for pages that only display them. Code that changes something (a payment, the end of a
session, the language) writes by id, through the ORM or an UPDATE, never through a snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Protocol

from flask_login import UserMixin
from sqlalchemy import bindparam, select

from portal.models import Account, Borrower, BorrowerSession, Lender
from portal.models.account import AccountFigures, AccountStatus


class LenderTerms(Protocol):
    """What payments read from a lender: the ORM Lender and LenderSnapshot both have it."""

    @property
    def min_payment_basis_points(self) -> int: ...
    @property
    def min_payment_minor(self) -> int: ...
    @property
    def payment_methods(self) -> str: ...


class LoanAccount(Protocol):
    """An account as pages and payment rules read it: the ORM Account (inside a transaction,
    locked when money moves) or the page's AccountSnapshot."""

    @property
    def id(self) -> int: ...
    @property
    def account_number(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def principal_minor(self) -> int: ...
    @property
    def interest_minor(self) -> int: ...
    @property
    def penalty_interest_minor(self) -> int: ...
    @property
    def fees_minor(self) -> int: ...
    @property
    def overdue_minor(self) -> int: ...
    @property
    def reserved_minor(self) -> int: ...
    @property
    def payable_minor(self) -> int: ...
    @property
    def lender(self) -> LenderTerms: ...


@dataclass(frozen=True, slots=True)
class LenderSnapshot:
    id: int
    name: str
    jurisdiction: str
    contact_phone: str | None
    contact_email: str | None
    service_opens: str
    service_closes: str
    timezone: str
    min_payment_basis_points: int
    min_payment_minor: int
    payment_methods: str


@dataclass(frozen=True, slots=True)
class AccountSnapshot(AccountFigures):
    id: int
    account_number: str
    product: str
    currency: str
    principal_minor: int
    interest_minor: int
    penalty_interest_minor: int
    fees_minor: int
    overdue_minor: int
    reserved_minor: int
    due_date: date
    days_past_due: int
    status: AccountStatus
    last_synced_at: datetime
    # An account's lender is always its borrower's lender (one borrower record per lender).
    lender: LenderSnapshot


@dataclass(frozen=True, slots=True)
class BorrowerSnapshot:
    id: int
    name: str
    locale: str
    timezone: str
    lender: LenderSnapshot
    # In account id order, as the ORM relationship orders them.
    accounts: tuple[AccountSnapshot, ...]


@dataclass(frozen=True, slots=True)
class SignedIn(UserMixin):
    """Flask-Login's user: one live BorrowerSession and what it may see."""

    id: int  # the BorrowerSession's id
    created_at: datetime  # when the person signed in: a session has an absolute lifetime
    token: str
    borrower: BorrowerSnapshot

    def get_id(self) -> str:
        # The cookie holds the clear token; the database only its hash.
        return self.token


def _names(snapshot: type, *, without: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in fields(snapshot) if f.name not in without)


_SESSION = ("id", "created_at")
_BORROWER = _names(BorrowerSnapshot, without=("lender", "accounts"))
_LENDER = _names(LenderSnapshot)
_ACCOUNT = _names(AccountSnapshot, without=("lender",))


def _columns(model, names: tuple[str, ...]):
    return [model.__table__.c[name] for name in names]


# Built once: the columns follow the snapshots' fields, so adding a field adds the column (and
# each column costs every page a little: the snapshots hold only what pages show or check).
_STATEMENT = (
    select(
        *_columns(BorrowerSession, _SESSION),
        *_columns(Borrower, _BORROWER),
        *_columns(Lender, _LENDER),
        *_columns(Account, _ACCOUNT),
    )
    .select_from(BorrowerSession)
    .join(Borrower, Borrower.id == BorrowerSession.borrower_id)
    .join(Lender, Lender.id == Borrower.lender_id)
    .outerjoin(Account, Account.borrower_id == Borrower.id)
    .where(BorrowerSession.token_hash == bindparam("token_hash"), BorrowerSession.ended_at.is_(None))
    .order_by(Account.id)
)

# Where each part starts in a row of the statement.
_AT_BORROWER = len(_SESSION)
_AT_LENDER = _AT_BORROWER + len(_BORROWER)
_AT_ACCOUNT = _AT_LENDER + len(_LENDER)


def read_signed_in(connection, token: str, token_hash: str) -> SignedIn | None:
    """The live session with this token hash and everything its pages show, or None."""
    rows = connection.execute(_STATEMENT, {"token_hash": token_hash}).all()
    if not rows:
        return None
    first = rows[0]
    lender = LenderSnapshot(**_named(_LENDER, first[_AT_LENDER:_AT_ACCOUNT]))
    accounts = tuple(
        AccountSnapshot(**_named(_ACCOUNT, row[_AT_ACCOUNT:]), lender=lender)
        for row in rows
        if row[_AT_ACCOUNT] is not None  # outer join: maybe none
    )
    borrower = BorrowerSnapshot(**_named(_BORROWER, first[_AT_BORROWER:_AT_LENDER]), lender=lender, accounts=accounts)
    return SignedIn(**_named(_SESSION, first[:_AT_BORROWER]), token=token, borrower=borrower)


def _named(names: tuple[str, ...], values) -> dict:
    return dict(zip(names, values, strict=True))


def own_account(borrower: BorrowerSnapshot, account_id: int) -> AccountSnapshot | None:
    """An account of this borrower, or None: another borrower's account does not exist here."""
    return next((account for account in borrower.accounts if account.id == account_id), None)
