"""`portal import FILE.csv`: every rule, all or nothing, idempotent, no clear national IDs."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from portal.imports.service import COLUMNS
from portal.models import Account, AuditEvent, Borrower, Lender

GOOD = {
    "lender_code": "SUNRISE",
    "lender_name": "晨光消费金融有限公司",
    "account_number": "SR001",
    "product": "随心借",
    "borrower_name": "王芳",
    "phone": "13800138001",
    "date_of_birth": "1990-05-12",
    "national_id": "110101199005124527",
    "currency": "CNY",
    "principal": "2000.00",
    "interest": "36.50",
    "penalty_interest": "4.20",
    "fees": "0",
    "overdue_amount": "2040.70",
    "due_date": "2026-11-25",
    "days_past_due": "3",
    "locale": "zh_Hans",
    "timezone": "Asia/Shanghai",
}


def write_csv(tmp_path, rows, columns=COLUMNS, name="accounts.csv"):
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def count(db, model):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def run(runner, path):
    return runner.invoke(args=["import", str(path)])


def test_a_valid_file_creates_lenders_borrowers_and_accounts(runner, db, tmp_path):
    rows = [
        GOOD,
        {
            **GOOD,
            "account_number": "SR002",
            "principal": "100",
            "interest": "0",
            "penalty_interest": "0",
            "fees": "0",
            "overdue_amount": "100.00",
        },
    ]
    result = run(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 created, 0 updated, 0 unchanged"
    account = db.session.execute(select(Account).where(Account.account_number == "SR001")).scalar_one()
    assert (
        account.principal_minor,
        account.interest_minor,
        account.penalty_interest_minor,
        account.fees_minor,
        account.overdue_minor,
    ) == (200000, 3650, 420, 0, 204070)
    assert account.borrower.phone_e164 == "+8613800138001"
    assert count(db, Borrower) == 1 and count(db, Lender) == 1


def test_the_national_id_is_never_stored_in_clear(runner, db, tmp_path):
    run(runner, write_csv(tmp_path, [GOOD]))
    borrower = db.session.execute(select(Borrower)).scalar_one()
    assert borrower.national_id_last4 == "4527"
    assert GOOD["national_id"] not in borrower.national_id_hash
    assert len(borrower.national_id_hash) == 64
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()).all():
            assert GOOD["national_id"] not in repr(row)


def test_running_the_same_file_twice_changes_nothing(runner, db, tmp_path):
    path = write_csv(tmp_path, [GOOD])
    run(runner, path)
    synced = db.session.execute(select(Account.last_synced_at)).scalar_one()
    result = run(runner, path)
    assert result.output.strip() == "0 created, 0 updated, 1 unchanged"
    assert db.session.execute(select(Account.last_synced_at)).scalar_one() == synced


def test_changed_figures_update_the_account(runner, db, tmp_path):
    run(runner, write_csv(tmp_path, [GOOD]))
    changed = {**GOOD, "principal": "1000.00", "overdue_amount": "1040.70", "days_past_due": "4"}
    result = run(runner, write_csv(tmp_path, [changed], name="second.csv"))
    assert result.output.strip() == "0 created, 1 updated, 0 unchanged"
    account = db.session.execute(select(Account)).scalar_one()
    db.session.refresh(account)
    assert account.overdue_minor == 104070 and account.days_past_due == 4


@pytest.mark.parametrize(
    "column,value,reason",
    [
        ("date_of_birth", "1990-13-01", "YYYY-MM-DD"),
        ("date_of_birth", "12/05/1990", "YYYY-MM-DD"),
        ("date_of_birth", "2999-01-01", "plausible"),
        ("due_date", "2026-02-30", "YYYY-MM-DD"),
        ("phone", "12345", "phone"),
        ("phone", "", "phone"),
        ("principal", "-5.00", "negative"),
        ("principal", "12,34.5", "amount like"),
        ("principal", "abc", "amount like"),
        ("interest", "1.234", "decimal places"),
        ("fees", "", "missing"),
        ("currency", "XYZ", "ISO 4217"),
        ("currency", "", "ISO 4217"),
        ("overdue_amount", "2040.71", "principal + interest"),
        ("days_past_due", "-1", "whole number"),
        ("days_past_due", "3.5", "whole number"),
        ("locale", "fr", "zh_Hans"),
        ("timezone", "Mars/Base", "IANA"),
        ("account_number", "", "missing"),
        ("lender_code", "bad code!", "letters"),
        ("national_id", "12", "4 to 32"),
        ("borrower_name", "", "missing"),
    ],
)
def test_each_invalid_value_is_reported_with_its_line_and_nothing_is_imported(
    runner, db, tmp_path, column, value, reason
):
    rows = [GOOD, {**GOOD, "account_number": "SR002", column: value}]
    result = run(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1
    assert f"line 3: {column}" in result.output
    assert reason in result.output
    assert "Nothing imported" in result.output
    assert count(db, Account) == 0 and count(db, Lender) == 0


def test_every_bad_row_is_reported_not_just_the_first(runner, db, tmp_path):
    rows = [
        {**GOOD, "phone": "1"},
        GOOD | {"account_number": "SR9"},
        {**GOOD, "account_number": "SR3", "currency": "ZZZ"},
    ]
    result = run(runner, write_csv(tmp_path, rows))
    assert "line 2: phone" in result.output and "line 4: currency" in result.output
    assert "2 problem(s)" in result.output


def test_duplicate_account_in_the_file_is_refused(runner, db, tmp_path):
    result = run(runner, write_csv(tmp_path, [GOOD, GOOD]))
    assert result.exit_code == 1
    assert "line 3: account_number: duplicates the account on line 2" in result.output


def test_one_person_with_two_birth_dates_is_refused(runner, db, tmp_path):
    rows = [GOOD, {**GOOD, "account_number": "SR002", "date_of_birth": "1991-05-12"}]
    result = run(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1 and "line 3: date_of_birth" in result.output


def test_missing_columns_are_named(runner, db, tmp_path):
    columns = [c for c in COLUMNS if c not in ("fees", "timezone")]
    result = run(runner, write_csv(tmp_path, [GOOD], columns=columns))
    assert result.exit_code == 1
    assert "missing columns: fees, timezone" in result.output


def test_extra_values_in_a_row_are_refused(runner, db, tmp_path):
    path = write_csv(tmp_path, [GOOD])
    path.write_text(path.read_text(encoding="utf-8") + ",".join(GOOD.values()) + ",extra\n", encoding="utf-8")
    result = run(runner, path)
    assert result.exit_code == 1 and "line 3: row" in result.output


def test_hong_kong_numbers_and_x_ids(runner, db, tmp_path):
    row = {
        **GOOD,
        "phone": "+852 9123 4567",
        "currency": "HKD",
        "national_id": "a123456x",
        "locale": "zh_Hant",
        "timezone": "Asia/Hong_Kong",
    }
    assert run(runner, write_csv(tmp_path, [row])).exit_code == 0
    borrower = db.session.execute(select(Borrower)).scalar_one()
    assert borrower.phone_e164 == "+85291234567" and borrower.national_id_last4 == "456X"


def test_an_import_is_audited(runner, db, tmp_path):
    run(runner, write_csv(tmp_path, [GOOD]))
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "accounts.imported")).scalar_one()
    assert event.details == {"created": 1, "updated": 0, "unchanged": 0}
    assert event.actor_type == "cli"


def test_a_large_file_shows_progress(runner, db, tmp_path):
    rows = []
    for n in range(2500):
        rows.append({**GOOD, "account_number": f"SR{n:05d}"})
    result = runner.invoke(args=["import", str(write_csv(tmp_path, rows))])
    assert result.exit_code == 0, result.output
    assert "Importing" in result.output  # the progress bar (stderr is mixed in here)
    assert "2500 created" in result.output


def test_byte_order_mark_from_excel_is_accepted(runner, db, tmp_path):
    path = write_csv(tmp_path, [GOOD])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert run(runner, path).exit_code == 0


def test_import_refuses_to_read_non_utf8(runner, db, tmp_path):
    path = tmp_path / "gbk.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerow(GOOD)
    path.write_bytes(buffer.getvalue().encode("gbk"))
    result = run(runner, path)
    assert result.exit_code != 0
    assert count(db, Account) == 0
