"""portal import-contacts FILE.csv: the API's contact fields as columns, all rows or none."""

from __future__ import annotations

import csv

from sqlalchemy import func, select

from portal.models import CollectionContact
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory

COLUMNS = [
    "contact_id",
    "account_number",
    "occurred_at",
    "channel",
    "direction",
    "outcome",
    "party",
    "phone_number",
    "agent_id",
    "agency_code",
    "duration_seconds",
]


def row(n, **overrides):
    return {
        "contact_id": f"F-{n}",
        "account_number": "SR001",
        "occurred_at": f"2026-11-25T{10 + n:02d}:00:00+08:00",
        "channel": "call",
        "direction": "outbound",
        "outcome": "answered",
        "party": "borrower",
        "phone_number": "",
        "agent_id": "A-1",
        "agency_code": "AG",
        "duration_seconds": "30",
        **overrides,
    }


def write(tmp_path, rows, name="contacts.csv"):
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def count(db) -> int:
    return db.session.execute(select(func.count()).select_from(CollectionContact)).scalar()


def test_import_records_and_evaluates_every_row(runner, db, tmp_path):
    lender = LenderFactory(code="SUNRISE")
    AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR001")
    result = runner.invoke(args=["import-contacts", "--lender", "SUNRISE", write(tmp_path, [row(n) for n in range(5)])])
    assert result.exit_code == 0, result.output
    assert "5 contact(s) recorded, 0 already known; 2 break a contact rule." in result.output
    again = runner.invoke(args=["import-contacts", "--lender", "SUNRISE", write(tmp_path, [row(n) for n in range(5)])])
    assert "0 contact(s) recorded, 5 already known" in again.output
    assert count(db) == 5


def test_one_bad_row_imports_nothing_and_names_its_line(runner, db, tmp_path):
    lender = LenderFactory(code="SUNRISE")
    AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR001")
    rows = [row(0), row(1, channel="pigeon"), row(2, account_number="NOPE")]
    result = runner.invoke(args=["import-contacts", "--lender", "SUNRISE", write(tmp_path, rows)])
    assert result.exit_code == 1
    assert "line 3/channel: must be one of" in result.output
    assert count(db) == 0
    result = runner.invoke(
        args=["import-contacts", "--lender", "SUNRISE", write(tmp_path, [row(0), row(2, account_number="NOPE")])]
    )
    assert result.exit_code == 1 and "line 3/account_number: is not an account of this lender" in result.output
    assert count(db) == 0
