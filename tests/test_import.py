"""`portal import FILE.csv`: every rule, all or nothing, idempotent, no clear national IDs."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

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


# ---------------------------------------------------------------------------------------
# Streaming, set-based import (issue 11) and the CSV defects of issue 10


def test_a_bad_last_row_means_nothing_is_written(runner, db, tmp_path):
    rows = [{**GOOD, "account_number": f"SR{n:04d}"} for n in range(30)]
    rows[-1] = {**rows[-1], "phone": "1"}
    result = run(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1
    assert "line 31: phone" in result.output and "Nothing imported: 1 problem(s) found." in result.output
    assert count(db, Account) == 0 and count(db, Borrower) == 0 and count(db, Lender) == 0


def test_a_duplicate_40000_rows_apart_in_a_50000_row_file_is_found(runner, db, tmp_path):
    rows = [{**GOOD, "account_number": f"SR{n:06d}"} for n in range(50_000)]
    rows[45_000] = {**rows[45_000], "account_number": rows[5_000]["account_number"]}
    result = run(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1
    assert "line 45002: account_number: duplicates the account on line 5002" in result.output
    assert "Nothing imported: 1 problem(s) found." in result.output
    assert count(db, Account) == 0


def test_a_row_that_changes_only_the_phone_is_updated_and_audited(runner, db, tmp_path):
    run(runner, write_csv(tmp_path, [GOOD]))
    synced = db.session.execute(select(Account.last_synced_at)).scalar_one()
    result = run(runner, write_csv(tmp_path, [{**GOOD, "phone": "13900139009"}], name="phone.csv"))
    assert result.output.strip() == "0 created, 1 updated, 0 unchanged"
    borrower = db.session.execute(select(Borrower).execution_options(populate_existing=True)).scalar_one()
    assert borrower.phone_e164 == "+8613900139009"
    changed = db.session.execute(select(AuditEvent).where(AuditEvent.action == "borrower.updated")).scalar_one()
    assert changed.details == {"fields": ["phone_e164"]} and changed.subject_id == str(borrower.id)
    account_event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.updated")).scalar_one()
    assert account_event.subject_type == "account"
    assert db.session.execute(select(Account.last_synced_at)).scalar_one() >= synced


def test_every_created_account_has_its_own_audit_record(runner, db, tmp_path):
    rows = [{**GOOD, "account_number": f"SR{n}"} for n in range(3)]
    run(runner, write_csv(tmp_path, rows))
    created = db.session.execute(select(AuditEvent.details).where(AuditEvent.action == "account.created")).scalars()
    assert sorted(d["account_number"] for d in created) == ["SR0", "SR1", "SR2"]


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused_and_never_echoed(runner, db, tmp_path, character):
    rows = [GOOD, {**GOOD, "account_number": "SR002", "borrower_name": f"王{character}芳"}]
    result = run(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1
    assert f"line 3: borrower_name: contains a control character (U+{ord(character):04X})" in result.output
    assert character not in result.output
    assert count(db, Account) == 0


def test_a_value_over_the_csv_size_limit_is_a_line_error_not_a_traceback(runner, db, tmp_path):
    rows = [GOOD, {**GOOD, "account_number": "SR002", "product": "x" * (csv.field_size_limit() + 10)}, GOOD]
    result = run(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"line 3: row: has a value longer than {csv.field_size_limit()} characters" in result.output
    assert count(db, Account) == 0


def test_a_column_named_twice_is_refused(runner, db, tmp_path):
    path = tmp_path / "twice.csv"
    header = ",".join((*COLUMNS, "phone"))
    path.write_text(header + "\n" + ",".join((*GOOD.values(), "13900139009")) + "\n", encoding="utf-8")
    result = run(runner, path)
    assert result.exit_code == 1
    assert "line 1: header: columns named more than once: phone" in result.output
    assert count(db, Account) == 0


def test_dry_run_reports_problems_and_writes_nothing(runner, db, tmp_path):
    good = write_csv(tmp_path, [GOOD])
    result = runner.invoke(args=["import", "--dry-run", str(good)])
    assert result.exit_code == 0 and "No problems in 1 row(s); nothing written" in result.output
    assert count(db, Account) == 0 and count(db, Lender) == 0
    bad = write_csv(tmp_path, [{**GOOD, "phone": "1"}], name="bad.csv")
    result = runner.invoke(args=["import", "--dry-run", str(bad)])
    assert result.exit_code == 1 and "line 2: phone" in result.output


def test_the_printed_list_is_capped_and_errors_file_has_every_problem(runner, db, tmp_path):
    from portal.cli import PRINTED_PROBLEMS

    total = PRINTED_PROBLEMS + 30
    rows = [{**GOOD, "account_number": f"SR{n:04d}", "phone": "1"} for n in range(total)]
    errors = tmp_path / "errors.csv"
    result = runner.invoke(args=["import", "--errors", str(errors), str(write_csv(tmp_path, rows))])
    assert result.exit_code == 1
    assert f"line {PRINTED_PROBLEMS + 1}: phone" in result.output
    assert f"line {PRINTED_PROBLEMS + 2}: phone" not in result.output
    assert f"… and 30 more problem(s) (all of them are in {errors})" in result.output
    with errors.open(encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert len(written) == total
    assert written[0] == {"line": "2", "column": "phone", "reason": "'1' is not a valid phone number"}
    assert [int(r["line"]) for r in written] == sorted(int(r["line"]) for r in written)


def test_progress_shows_rows_per_second(runner, db, tmp_path):
    from portal.cli import _Progress

    progress = _Progress(iter(()), 100, "Importing")
    progress.row()
    assert "1 rows" in progress.describe() and "rows/s" in progress.describe()


def test_a_settled_account_imported_with_an_amount_owed_is_overdue_again(runner, db, tmp_path):
    from portal.models import AccountStatus

    zero = {**GOOD, "principal": "0", "interest": "0", "penalty_interest": "0", "fees": "0", "overdue_amount": "0"}
    run(runner, write_csv(tmp_path, [zero]))
    account = db.session.execute(select(Account)).scalar_one()
    assert account.status == AccountStatus.SETTLED
    result = run(runner, write_csv(tmp_path, [GOOD], name="owed.csv"))
    assert result.output.strip() == "0 created, 1 updated, 0 unchanged"
    db.session.refresh(account)
    assert account.status == AccountStatus.OVERDUE and account.overdue_minor == 204070
    run(runner, write_csv(tmp_path, [zero], name="paid.csv"))
    db.session.refresh(account)
    assert account.status == AccountStatus.SETTLED


# ---------------------------------------------------------------------------------------
# as_of: figures older than the portal's own payments and refunds


F1 = {"principal": "1900.00", "interest": "40.00", "penalty_interest": "4.20", "fees": "0", "overdue_amount": "1944.20"}
AS_OF_COLUMNS = (*COLUMNS, "as_of")


class Timeline:
    """Imports, payments and refunds of one account, each at its own moment."""

    def __init__(self, runner, db, tmp_path):
        self.runner, self.db, self.tmp_path = runner, db, tmp_path
        self.marks: dict[str, object] = {}
        self.payment = None
        self.imports = 0
        self.mark("start")
        self.do_import({}, as_of=self.marks["start"])
        self.account = db.session.execute(select(Account)).scalar_one()

    def mark(self, name):
        import time

        from portal.models.types import utcnow

        time.sleep(0.002)
        self.marks[name] = utcnow()
        time.sleep(0.002)

    def do_import(self, figures, as_of):
        self.imports += 1
        row = {**GOOD, **figures, "as_of": as_of.isoformat()}
        path = write_csv(self.tmp_path, [row], columns=AS_OF_COLUMNS, name=f"import{self.imports}.csv")
        result = run(self.runner, path)
        assert result.exit_code == 0, result.output
        return result

    def pay(self, amount=50000):
        import uuid

        from portal.models import Payment, PaymentPurpose, PaymentStatus
        from portal.payments.service import record_success

        self.mark("P")
        payment = Payment(
            public_id=uuid.uuid4().hex,
            account_id=self.account.id,
            amount_minor=amount,
            currency="CNY",
            purpose=PaymentPurpose.OTHER,
            status=PaymentStatus.PENDING,
            idempotency_key=uuid.uuid4().hex,
        )
        self.db.session.add(payment)
        self.account.reserved_minor += amount
        self.db.session.flush()
        assert record_success(payment.id, source="test")
        self.payment = payment

    def refund(self):
        from portal.payments.service import record_refund

        self.mark("R")
        assert record_refund(self.payment.id, self.payment.amount_minor, source="test")

    def overdue(self):
        self.db.session.flush()
        self.db.session.refresh(self.account)
        return self.account.overdue_minor


@pytest.mark.parametrize(
    "steps,expected",
    [
        # I: an import of F1 (1,944.20) taken now; I<P / I<R: taken just before the payment / refund.
        ("P R I", 194420),  # the core saw both
        ("P I R", 244420),  # the core saw the payment; the refund comes on top
        ("I P R", 194420),
        ("I P", 144420),
        ("P I<P", 144420),  # figures from before the payment: the payment stays applied
        ("P I<P R", 194420),
        ("P R I<P", 194420),  # the payment and its refund cancel out
        ("P R I<R", 244420),  # the core saw the payment, not the refund
        ("I P I<P", 144420),
        ("I P I", 194420),
    ],
)
def test_payments_and_refunds_after_as_of_stay_applied(runner, db, tmp_path, steps, expected):
    timeline = Timeline(runner, db, tmp_path)
    for step in steps.split():
        if step == "P":
            timeline.pay()
        elif step == "R":
            timeline.refund()
        elif step == "I":
            timeline.mark("I")
            timeline.do_import(F1, as_of=timeline.marks["I"])
        else:
            timeline.do_import(F1, as_of=timeline.marks[step[2:]] - timedelta(milliseconds=1))
    assert timeline.overdue() == expected
    parts = (
        timeline.account.principal_minor,
        timeline.account.interest_minor,
        timeline.account.penalty_interest_minor,
        timeline.account.fees_minor,
    )
    assert sum(parts) == expected and min(parts) >= 0


def test_an_import_older_than_the_last_one_is_refused_for_that_account(runner, db, tmp_path):
    from datetime import timedelta

    from portal.models.types import utcnow

    now = utcnow()
    newer = {**GOOD, "as_of": now.isoformat()}
    other = {**GOOD, "account_number": "SR002", "as_of": (now - timedelta(days=1)).isoformat()}
    assert run(runner, write_csv(tmp_path, [newer], columns=AS_OF_COLUMNS)).exit_code == 0
    older = {**GOOD, **F1, "as_of": (now - timedelta(hours=1)).isoformat()}
    result = run(runner, write_csv(tmp_path, [older, other], columns=AS_OF_COLUMNS, name="older.csv"))
    assert result.exit_code == 0, result.output
    assert "line 2: as_of: is older than the figures already imported" in result.output
    assert "1 created, 0 updated, 0 unchanged, 1 stale (left unchanged)" in result.output
    account = db.session.execute(
        select(Account).where(Account.account_number == "SR001").execution_options(populate_existing=True)
    ).scalar_one()
    assert account.overdue_minor == 204070


@pytest.mark.parametrize(
    "value,reason",
    [("2026-11-29", "UTC offset"), ("yesterday", "date and time"), ("2999-01-01T00:00:00+00:00", "future")],
)
def test_a_bad_as_of_is_refused(runner, db, tmp_path, value, reason):
    result = run(runner, write_csv(tmp_path, [{**GOOD, "as_of": value}], columns=AS_OF_COLUMNS))
    assert result.exit_code == 1 and "line 2: as_of" in result.output and reason in result.output


def test_a_payment_in_flight_keeps_its_reservation_through_an_import(runner, db, tmp_path):
    import uuid

    from portal.models import AccountStatus, Payment, PaymentPurpose, PaymentStatus
    from portal.payments.service import record_success

    run(runner, write_csv(tmp_path, [GOOD]))
    account = db.session.execute(select(Account)).scalar_one()
    payment = Payment(
        public_id=uuid.uuid4().hex,
        account_id=account.id,
        amount_minor=account.overdue_minor,
        currency="CNY",
        purpose=PaymentPurpose.OVERDUE_FULL,
        status=PaymentStatus.PENDING,
        idempotency_key=uuid.uuid4().hex,
    )
    db.session.add(payment)
    account.reserved_minor = payment.amount_minor
    db.session.flush()
    lower = {**GOOD, "principal": "1000.00", "interest": "0", "penalty_interest": "0", "overdue_amount": "1000.00"}
    assert run(runner, write_csv(tmp_path, [lower], name="lower.csv")).exit_code == 0
    db.session.refresh(account)
    assert account.reserved_minor == 204070 and account.overdue_minor == 100000
    assert account.payable_minor == 0  # nothing more can be paid while the payment is in flight
    assert record_success(payment.id, source="test")
    db.session.refresh(account)
    assert account.reserved_minor == 0 and account.overdue_minor == 0 and account.status == AccountStatus.SETTLED
    assert payment.excess_minor == 104070  # paid beyond what is owed now: staff refund it


def test_the_readme_states_the_import_rules_as_the_code_has_them():
    from pathlib import Path

    from portal.cli import PRINTED_PROBLEMS
    from portal.imports.service import AS_OF_LEEWAY

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split("### Importing accounts\n", 1)[1].split("\n#", 1)[0].split())
    assert f"the screen shows the first {PRINTED_PROBLEMS} and counts the rest" in text
    assert f"at most {int(AS_OF_LEEWAY.total_seconds() // 60)} minutes ahead of the portal's clock" in text


def test_an_import_that_brings_an_account_to_nothing_owed_tells_the_lenders_systems(runner, db, tmp_path):
    from portal.models import OutboxEvent

    run(runner, write_csv(tmp_path, [GOOD]))
    zero = {**GOOD, "principal": "0", "interest": "0", "penalty_interest": "0", "fees": "0", "overdue_amount": "0"}
    run(runner, write_csv(tmp_path, [zero], name="paid.csv"))
    run(runner, write_csv(tmp_path, [zero], name="again.csv"))
    events = db.session.execute(select(OutboxEvent).where(OutboxEvent.type == "account.settled")).scalars().all()
    assert [e.payload["account_number"] for e in events] == ["SR001"]  # once, when it happened
