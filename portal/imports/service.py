"""Loading lenders, borrowers and accounts from the loan core: what a valid account is.

Shared by the CSV import (``portal import``) and the accounts API: one set of rules for a
row (here) and one write path (portal/imports/upsert.py). A file is all or nothing: if any
row is wrong, nothing is written and every wrong row is reported with its line number and
column, in file order. Files are read as a stream: memory does not grow with their size.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from flask import current_app

from portal.i18n import LOCALES
from portal.identity import hash_national_id, last4
from portal.imports.upsert import ImportResult, RowError, Staging
from portal.models.types import utcnow
from portal.money import MoneyError, is_currency, parse_major

__all__ = ["COLUMNS", "OPTIONAL_COLUMNS", "AccountRecord", "ImportResult", "RowError", "import_csv", "validate_row"]

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
# Optional: when the loan core took the figures (ISO 8601 with a UTC offset; default: now).
OPTIONAL_COLUMNS = ("as_of",)
AMOUNT_COLUMNS = ("principal", "interest", "penalty_interest", "fees", "overdue_amount")
# Where a number is written without a country code, the currency says where the loan is.
PHONE_REGION_BY_CURRENCY = {"CNY": "CN", "HKD": "HK", "TWD": "TW", "USD": "US", "MOP": "MO"}
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
_NATIONAL_ID = re.compile(r"^[A-Za-z0-9]{4,32}$")
# C0 and C1 control characters and DEL: never shown, echoed or stored.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# A clock a little ahead of ours is not a future as_of.
AS_OF_LEEWAY = timedelta(minutes=5)
_MONEY_REASONS = {
    "missing": "is missing",
    "negative": "must not be negative",
    "malformed": "is not an amount like 1234.56",
    "too_many_decimals": "has more decimal places than the currency allows",
    "too_large": "is too large",
    "unknown_currency": "cannot be read without a valid currency",
}


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
    as_of: datetime | None = None

    def staged(self, default_as_of: datetime, id_hash_key: str | None = None) -> tuple:
        """The row for the staging table (portal/imports/upsert.py STAGED_COLUMNS): the
        national ID becomes its keyed hash and last four characters here."""
        return (
            self.line,
            self.lender_code,
            self.lender_name,
            self.account_number,
            self.product,
            self.borrower_name,
            self.phone_e164,
            self.date_of_birth,
            hash_national_id(self.national_id, id_hash_key),
            last4(self.national_id),
            self.currency,
            self.principal_minor,
            self.interest_minor,
            self.penalty_interest_minor,
            self.fees_minor,
            self.overdue_minor,
            self.due_date,
            self.days_past_due,
            self.locale,
            self.timezone,
            self.as_of or default_as_of,
        )


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAYS = re.compile(r"\d{1,5}")
# Files repeat the same few amounts, phone numbers (one borrower, several loans) and time
# zones: each recent distinct value is parsed once. (Bounded: memory stays flat, ≈ 2 MB.)
_CACHED = 8192


def _parse_date(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise ValueError
    return date.fromisoformat(text)


@lru_cache(maxsize=_CACHED)
def _phone_e164(text: str, region: str) -> str | None:
    """The number in E.164 if it is a valid phone number, else None."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=_CACHED)
def _amount(text: str, currency: str) -> int | str:
    """Minor units, or the MoneyError code saying why the amount cannot be read."""
    try:
        return parse_major(text, currency)
    except MoneyError as exc:
        return exc.code


@lru_cache(maxsize=256)
def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate_row(line: int, row: dict[str, str]) -> tuple[AccountRecord | None, list[RowError]]:
    """Check one row; return the record or every problem found in it."""
    errors: list[RowError] = []
    values = {name: (row.get(name) or "").strip() for name in COLUMNS + OPTIONAL_COLUMNS}

    def bad(name: str, message: str) -> None:
        errors.append(RowError(line, name, message))

    # Control characters first, and nothing else about the row: a value holding them is
    # never echoed back (a terminal or a spreadsheet would act on them) nor stored.
    if _CONTROL.search("".join(values.values())):
        for name, value in values.items():
            found = _CONTROL.search(value)
            if found:
                bad(name, f"contains a control character (U+{ord(found.group()):04X}); remove it and import again")
        return None, errors

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

    phone = _phone_e164(values["phone"], PHONE_REGION_BY_CURRENCY.get(currency, "CN"))
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
            amount = _amount(values[name], currency)
            if isinstance(amount, str):
                bad(name, f"{values[name]!r} {_MONEY_REASONS[amount]}")
            else:
                amounts[name] = amount
    breakdown = ("principal", "interest", "penalty_interest", "fees")
    if len(amounts) == len(AMOUNT_COLUMNS):
        if sum(amounts[n] for n in breakdown) != amounts["overdue_amount"]:
            bad("overdue_amount", "is not principal + interest + penalty_interest + fees")

    days = None
    if _DAYS.fullmatch(values["days_past_due"]):
        days = int(values["days_past_due"])
    else:
        bad("days_past_due", f"{values['days_past_due']!r} is not a whole number of days")

    locale = values["locale"] or "zh_Hans"
    if locale not in LOCALES:
        bad("locale", f"{locale!r} is not one of {', '.join(LOCALES)}")
    timezone = values["timezone"] or "Asia/Shanghai"
    if not _is_time_zone(timezone):
        bad("timezone", f"{timezone!r} is not an IANA time zone such as Asia/Shanghai")

    as_of = None
    if values["as_of"]:
        try:
            as_of = datetime.fromisoformat(values["as_of"])
        except ValueError:
            bad("as_of", f"{values['as_of']!r} is not a date and time like 2026-11-29T20:00:00+08:00")
        else:
            if as_of.tzinfo is None:
                bad("as_of", "needs a UTC offset, like 2026-11-29T20:00:00+08:00 or …Z")
                as_of = None
            elif as_of > utcnow() + AS_OF_LEEWAY:
                bad("as_of", "is in the future")
                as_of = None

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
        as_of=as_of,
    ), []


def read_csv(stream: Iterable[str], problem: Callable[[RowError], None]) -> Iterator[AccountRecord]:
    """The valid rows of a CSV file, one at a time; every problem goes to ``problem``.

    Problems of a line come in file order. A header that is missing columns or names one
    twice stops the reading (no row could be read right).
    """
    reader = csv.reader(stream)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        header = []
    except csv.Error:
        problem(RowError(1, "header", "cannot be read as CSV"))
        return
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        problem(RowError(1, "header", f"columns named more than once: {', '.join(repeated)}"))
        return
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        problem(RowError(1, "header", f"missing columns: {', '.join(missing)}"))
        return
    width = len(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger" in str(exc):
                reason = f"has a value longer than {csv.field_size_limit()} characters"
            else:
                reason = f"is not valid CSV ({exc})"
            problem(RowError(reader.line_num, "row", reason))
            continue
        if not values:
            continue  # a blank line
        line = reader.line_num
        if len(values) > width:
            problem(RowError(line, "row", "has more values than the header has columns"))
            continue
        record, row_errors = validate_row(line, dict(zip(header, values, strict=False)))
        for error in row_errors:
            problem(error)
        if record:
            yield record


def stage_records(records: Iterable[AccountRecord], staging: Staging, on_row: Callable[[], None] | None = None) -> None:
    """Put validated records into the staging table and check the rules between them."""
    key = current_app.config["ID_HASH_KEY"]
    for record in records:
        staging.add(record.staged(staging.now, key))
        if on_row:
            on_row()
    staging.finish()


def stage_csv(stream: Iterable[str], staging: Staging, on_row: Callable[[], None] | None = None) -> None:
    """Read, validate and stage a whole file; its problems are in ``staging.problems()``."""
    seq = {"line": -1, "n": 0}

    def problem(error: RowError) -> None:
        # Several problems of one line keep their order (the seq after the line number).
        seq["n"] = seq["n"] + 1 if error.line == seq["line"] else 0
        seq["line"] = error.line
        staging.problem(error, seq["n"])

    stage_records(read_csv(stream, problem), staging, on_row)


def import_records(records: list[AccountRecord], *, actor_type: str, actor_id: object = None) -> ImportResult:
    """Records already checked one by one (the API): check them together, then write them.

    ``errors`` holds the problems between records (``line`` is the record's own), and then
    nothing was written.
    """
    staging = Staging()
    stage_records(records, staging)
    errors = list(staging.problems())
    result = ImportResult(errors=errors) if errors else staging.write(actor_type=actor_type, actor_id=actor_id)
    staging.close()
    return result


def import_csv(stream: io.TextIOBase, *, actor_type: str = "cli", actor_id: object = None) -> ImportResult:
    """Validate the whole file, then write it, all or nothing. The caller commits."""
    staging = Staging()
    stage_csv(stream, staging)
    errors = list(staging.problems())
    result = ImportResult(errors=errors) if errors else staging.write(actor_type=actor_type, actor_id=actor_id)
    staging.close()
    return result
