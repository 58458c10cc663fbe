"""Loading lenders, borrowers and accounts from the loan core.

Shared by the CSV import (``portal import``) and, later, the accounts API: one set of
rules for what a valid account is. A file is all or nothing: if any row is wrong, nothing
is written and every wrong row is reported with its line number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import select, tuple_

from portal import audit
from portal.extensions import db
from portal.i18n import LOCALES
from portal.identity import hash_national_id, last4
from portal.models import Account, Borrower, Lender
from portal.models.types import utcnow
from portal.money import MoneyError, is_currency, parse_major
from portal.plans import service as plans

COLUMNS = (
    "lender_code",
    "lender_name",
    "account_number",
    "product",
    "borrower_name",
    "phone",
    "date_of_birth",
    "national_id",
    "currency",
    "principal",
    "interest",
    "penalty_interest",
    "fees",
    "overdue_amount",
    "due_date",
    "days_past_due",
    "locale",
    "timezone",
)
AMOUNT_COLUMNS = ("principal", "interest", "penalty_interest", "fees", "overdue_amount")
# Where a number is written without a country code, the currency says where the loan is.
PHONE_REGION_BY_CURRENCY = {"CNY": "CN", "HKD": "HK", "TWD": "TW", "USD": "US", "MOP": "MO"}
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_NATIONAL_ID = re.compile(r"^[A-Za-z0-9]{4,32}$")
_MONEY_REASONS = {
    "missing": "is missing",
    "negative": "must not be negative",
    "malformed": "is not an amount like 1234.56",
    "too_many_decimals": "has more decimal places than the currency allows",
    "too_large": "is too large",
    "unknown_currency": "cannot be read without a valid currency",
}


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class AccountRecord:
    """One validated row, in the portal's own terms (minor units, parsed dates)."""

    line: int
    lender_code: str
    lender_name: str
    account_number: str
    product: str
    borrower_name: str
    phone_e164: str
    date_of_birth: date
    national_id: str
    currency: str
    principal_minor: int
    interest_minor: int
    penalty_interest_minor: int
    fees_minor: int
    overdue_minor: int
    due_date: date
    days_past_due: int
    locale: str
    timezone: str


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def _parse_date(text: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError
    return date.fromisoformat(text)


def validate_row(line: int, row: dict[str, str]) -> tuple[AccountRecord | None, list[RowError]]:
    """Check one row; return the record or every problem found in it."""
    errors: list[RowError] = []
    values = {name: (row.get(name) or "").strip() for name in COLUMNS}

    def bad(name: str, message: str) -> None:
        errors.append(RowError(line, name, message))

    for name in ("lender_code", "lender_name", "account_number", "product", "borrower_name", "national_id"):
        if not values[name]:
            bad(name, "is missing")
    if values["lender_code"] and not _CODE.match(values["lender_code"]):
        bad("lender_code", "may contain only letters, digits, '.', '_' and '-' (at most 40)")
    if len(values["account_number"]) > 64:
        bad("account_number", "is longer than 64 characters")
    for name, limit in (("lender_name", 200), ("product", 200), ("borrower_name", 200)):
        if len(values[name]) > limit:
            bad(name, f"is longer than {limit} characters")
    if values["national_id"] and not _NATIONAL_ID.match(values["national_id"].replace(" ", "")):
        bad("national_id", "must be 4 to 32 letters or digits")

    currency = values["currency"].upper()
    if not is_currency(currency):
        bad("currency", f"{values['currency']!r} is not an ISO 4217 currency code")

    phone = None
    try:
        parsed = phonenumbers.parse(values["phone"], PHONE_REGION_BY_CURRENCY.get(currency, "CN"))
        if phonenumbers.is_valid_number(parsed):
            phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    if phone is None:
        bad("phone", f"{values['phone']!r} is not a valid phone number")

    dates: dict[str, date] = {}
    for name in ("date_of_birth", "due_date"):
        try:
            dates[name] = _parse_date(values[name])
        except ValueError:
            bad(name, f"{values[name]!r} is not a date written YYYY-MM-DD")
    if "date_of_birth" in dates and not (date(1900, 1, 1) <= dates["date_of_birth"] <= date.today()):
        bad("date_of_birth", "is not a plausible date of birth")

    amounts: dict[str, int] = {}
    if is_currency(currency):
        for name in AMOUNT_COLUMNS:
            try:
                amounts[name] = parse_major(values[name], currency)
            except MoneyError as exc:
                bad(name, f"{values[name]!r} {_MONEY_REASONS[exc.code]}")
    breakdown = ("principal", "interest", "penalty_interest", "fees")
    if len(amounts) == len(AMOUNT_COLUMNS):
        if sum(amounts[n] for n in breakdown) != amounts["overdue_amount"]:
            bad("overdue_amount", "is not principal + interest + penalty_interest + fees")

    days = None
    if re.fullmatch(r"\d{1,5}", values["days_past_due"]):
        days = int(values["days_past_due"])
    else:
        bad("days_past_due", f"{values['days_past_due']!r} is not a whole number of days")

    locale = values["locale"] or "zh_Hans"
    if locale not in LOCALES:
        bad("locale", f"{locale!r} is not one of {', '.join(LOCALES)}")
    timezone = values["timezone"] or "Asia/Shanghai"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad("timezone", f"{timezone!r} is not an IANA time zone such as Asia/Shanghai")

    if errors or phone is None or days is None:
        return None, errors
    return AccountRecord(
        line=line,
        lender_code=values["lender_code"],
        lender_name=values["lender_name"],
        account_number=values["account_number"],
        product=values["product"],
        borrower_name=values["borrower_name"],
        phone_e164=phone,
        date_of_birth=dates["date_of_birth"],
        national_id=values["national_id"],
        currency=currency,
        principal_minor=amounts["principal"],
        interest_minor=amounts["interest"],
        penalty_interest_minor=amounts["penalty_interest"],
        fees_minor=amounts["fees"],
        overdue_minor=amounts["overdue_amount"],
        due_date=dates["due_date"],
        days_past_due=days,
        locale=locale,
        timezone=timezone,
    ), []


def read_csv(stream: io.TextIOBase) -> tuple[list[AccountRecord], list[RowError]]:
    reader = csv.DictReader(stream)
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        return [], [RowError(1, "header", f"missing columns: {', '.join(missing)}")]
    reader.fieldnames = header
    records: list[AccountRecord] = []
    errors: list[RowError] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            errors.append(RowError(line, "row", "has more values than the header has columns"))
            continue
        record, row_errors = validate_row(line, row)
        errors.extend(row_errors)
        if record:
            records.append(record)
    return records, errors


def check_consistency(records: list[AccountRecord]) -> list[RowError]:
    """Problems between rows: the same account twice, one person with two birth dates."""
    errors = []
    seen_accounts: dict[tuple[str, str], int] = {}
    birth_dates: dict[tuple[str, str], date] = {}
    for record in records:
        key = (record.lender_code, record.account_number)
        if key in seen_accounts:
            errors.append(
                RowError(record.line, "account_number", f"duplicates the account on line {seen_accounts[key]}")
            )
        seen_accounts.setdefault(key, record.line)
        person = (record.lender_code, hash_national_id(record.national_id))
        known = birth_dates.setdefault(person, record.date_of_birth)
        if known != record.date_of_birth:
            errors.append(RowError(record.line, "date_of_birth", "differs from another row with the same national_id"))
    return errors


_BORROWER_FIELDS = ("name", "phone_e164", "date_of_birth", "locale", "timezone")
_ACCOUNT_FIELDS = (
    "product",
    "currency",
    "principal_minor",
    "interest_minor",
    "penalty_interest_minor",
    "fees_minor",
    "overdue_minor",
    "due_date",
    "days_past_due",
)


def _assign(obj, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def upsert(
    records: list[AccountRecord],
    *,
    actor_type: str,
    actor_id: object = None,
    on_row: Callable[[], None] | None = None,
) -> ImportResult:
    """Write validated records in the caller's transaction. Re-running the same data is a no-op."""
    result = ImportResult()
    codes = {r.lender_code for r in records}
    lenders = {
        lender.code: lender for lender in db.session.execute(select(Lender).where(Lender.code.in_(codes))).scalars()
    }
    for record in records:
        if record.lender_code not in lenders:
            lender = Lender(code=record.lender_code, name=record.lender_name)
            db.session.add(lender)
            lenders[record.lender_code] = lender
    db.session.flush()

    borrowers: dict[tuple[int, str], Borrower] = {}
    accounts: dict[tuple[int, str], Account] = {}
    # Look existing rows up in chunks: a bounded number of queries for any file size.
    chunk = 500
    for start in range(0, len(records), chunk):
        part = records[start : start + chunk]
        hashes = [(lenders[r.lender_code].id, hash_national_id(r.national_id)) for r in part]
        numbers = [(lenders[r.lender_code].id, r.account_number) for r in part]
        for stored_borrower in db.session.execute(
            select(Borrower).where(tuple_(Borrower.lender_id, Borrower.national_id_hash).in_(hashes))
        ).scalars():
            borrowers[(stored_borrower.lender_id, stored_borrower.national_id_hash)] = stored_borrower
        for stored_account in db.session.execute(
            select(Account).where(tuple_(Account.lender_id, Account.account_number).in_(numbers))
        ).scalars():
            accounts[(stored_account.lender_id, stored_account.account_number)] = stored_account

    now = utcnow()
    updated_ids: list[int] = []
    for record in records:
        if on_row:
            on_row()
        lender = lenders[record.lender_code]
        id_hash = hash_national_id(record.national_id)
        borrower_values = {
            "name": record.borrower_name,
            "phone_e164": record.phone_e164,
            "date_of_birth": record.date_of_birth,
            "locale": record.locale,
            "timezone": record.timezone,
        }
        borrower = borrowers.get((lender.id, id_hash))
        borrower_changed = False
        if borrower is None:
            borrower = Borrower(
                lender=lender, national_id_hash=id_hash, national_id_last4=last4(record.national_id), **borrower_values
            )
            db.session.add(borrower)
            borrowers[(lender.id, id_hash)] = borrower
        else:
            borrower_changed = _assign(borrower, borrower_values)

        account_values = {name: getattr(record, name) for name in _ACCOUNT_FIELDS}
        account = accounts.get((lender.id, record.account_number))
        if account is None:
            account = Account(
                lender=lender,
                borrower=borrower,
                account_number=record.account_number,
                last_synced_at=now,
                **account_values,
            )
            db.session.add(account)
            accounts[(lender.id, record.account_number)] = account
            result.created += 1
        elif _assign(account, account_values) | borrower_changed | (account.borrower_id != borrower.id):
            account.borrower = borrower
            account.last_synced_at = now
            result.updated += 1
            updated_ids.append(account.id)
        else:
            result.unchanged += 1
    db.session.flush()
    # New figures for an account with an active plan never break the plan silently
    # (portal/plans/service.py, one query per 500 updated accounts).
    plans.follow_core(updated_ids, actor_type=actor_type)
    audit.record(
        "accounts.imported",
        actor_type=actor_type,
        actor_id=actor_id,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    return result


def validate_csv(stream: io.TextIOBase) -> tuple[list[AccountRecord], list[RowError]]:
    """Every problem in the file, in line order; the records are usable only if there is none."""
    records, errors = read_csv(stream)
    errors += check_consistency(records)
    return records, sorted(errors, key=lambda e: e.line)


def import_csv(stream: io.TextIOBase, *, actor_type: str = "cli", actor_id: object = None) -> ImportResult:
    """Validate the whole file, then write it, all or nothing. The caller commits."""
    records, errors = validate_csv(stream)
    if errors:
        return ImportResult(errors=errors)
    return upsert(records, actor_type=actor_type, actor_id=actor_id)
