"""Seeding a benchmark database fast: PostgreSQL COPY of lenders, borrowers, accounts, payments.

The schema comes from ``portal db upgrade`` (never from here); every NOT NULL column without
a server default must be given a value below, and ``check_columns`` says which one is
missing if a migration adds one. National ID hashes are the portal's own HMAC
(``portal.identity.hash_national_id``) with the ID_HASH_KEY the app runs with, so the
benchmark borrower signs in through the real form.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, date, datetime, timedelta

import psycopg

from portal.identity import hash_national_id, last4

LENDERS = 10
# The borrower the benchmark signs in as: three loans at lender 1 and a payment history.
BENCH_ACCOUNT = "BN0000000001"
BENCH_DOB = date(1990, 5, 12)
BENCH_NATIONAL_ID = "110101199005120018"
BENCH_ACCOUNTS = 3
BENCH_HISTORY = 20
# One other payment per this many accounts, so the payment table grows with the data.
PAYMENT_EVERY = 10


def national_id(i: int) -> str:
    return BENCH_NATIONAL_ID if i == 1 else f"3101041985{i:08d}"


def borrower_of(account_id: int) -> int:
    """Accounts 1-3 belong to borrower 1; account i > 3 to borrower i - 2."""
    return 1 if account_id <= BENCH_ACCOUNTS else account_id - BENCH_ACCOUNTS + 1


def lender_of(borrower_id: int) -> int:
    return 1 if borrower_id == 1 else 1 + borrower_id % LENDERS


def check_columns(conn, table: str, given: list[str]) -> None:
    """Fail clearly when the schema has a required column this seeder does not fill."""
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL",
        (table,),
    ).fetchall()
    missing = {name for (name,) in rows} - set(given) - {"id"}
    if missing:
        raise SystemExit(
            f"seed.py does not fill the required column(s) {sorted(missing)} of "
            f"{table}: add them to tests/benchmarks/seed.py"
        )


def copy(conn, table: str, columns: list[str], rows) -> int:
    check_columns(conn, table, columns)
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
        for row in rows:
            out.write_row(row)
            count += 1
    return count


def seed(url: str, accounts: int, id_hash_key: str, log=print) -> dict:
    """Fill an empty, migrated database with ``accounts`` accounts; return what the
    benchmark needs to sign in."""
    if accounts < BENCH_ACCOUNTS + 1:
        raise SystemExit(f"--accounts must be at least {BENCH_ACCOUNTS + 1}")
    now = datetime.now(UTC)
    started = time.monotonic()
    borrowers = accounts - BENCH_ACCOUNTS + 1
    with psycopg.connect(url) as conn:
        copy(
            conn,
            "lender",
            [
                "id",
                "code",
                "name",
                "jurisdiction",
                "contact_phone",
                "contact_email",
                "service_opens",
                "service_closes",
                "timezone",
            ],
            (
                (
                    i,
                    f"BENCH{i:02d}",
                    f"基准消费金融{i}号有限公司",
                    "CN",
                    "400-820-1234",
                    "care@bench.example.cn",
                    "09:00",
                    "21:00",
                    "Asia/Shanghai",
                )
                for i in range(1, LENDERS + 1)
            ),
        )

        def borrower_rows():
            for i in range(1, borrowers + 1):
                nid = national_id(i)
                born = BENCH_DOB if i == 1 else date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
                yield (
                    i,
                    lender_of(i),
                    "王芳" if i == 1 else f"借款人{i}",
                    f"+86138{i:08d}",
                    born,
                    hash_national_id(nid, id_hash_key),
                    last4(nid),
                    ("zh_Hans", "zh_Hant", "en")[i % 3],
                    "Asia/Shanghai",
                    now,
                    now,
                )

        copy(
            conn,
            "borrower",
            [
                "id",
                "lender_id",
                "name",
                "phone_e164",
                "date_of_birth",
                "national_id_hash",
                "national_id_last4",
                "locale",
                "timezone",
                "created_at",
                "updated_at",
            ],
            borrower_rows(),
        )

        def account_rows():
            for i in range(1, accounts + 1):
                borrower = borrower_of(i)
                principal, interest, penalty, fees = 200000 + i % 500000, 3650, 420, (i % 3) * 1000
                days = 1 + i % 180
                yield (
                    i,
                    lender_of(borrower),
                    borrower,
                    BENCH_ACCOUNT if i == 1 else f"BN{i:010d}",
                    "随心借",
                    "CNY",
                    principal + (10_000_000 if i == 1 else 0),
                    interest,
                    penalty,
                    fees,
                    principal + (10_000_000 if i == 1 else 0) + interest + penalty + fees,
                    date.today() - timedelta(days=days),
                    days,
                    "overdue",
                    now,
                )

        copy(
            conn,
            "account",
            [
                "id",
                "lender_id",
                "borrower_id",
                "account_number",
                "product",
                "currency",
                "principal_minor",
                "interest_minor",
                "penalty_interest_minor",
                "fees_minor",
                "overdue_minor",
                "due_date",
                "days_past_due",
                "status",
                "last_synced_at",
            ],
            account_rows(),
        )

        def payment_rows():
            targets = [1] * BENCH_HISTORY + list(range(BENCH_ACCOUNTS + 1, accounts + 1, PAYMENT_EVERY))
            for n, account in enumerate(targets, start=1):
                paid = n % 4 != 0
                public_id = secrets.token_urlsafe(16)
                when = now - timedelta(days=n % 60, minutes=n)
                yield (
                    n,
                    public_id,
                    account,
                    10_000 + n % 5000,
                    "CNY",
                    "other",
                    "card",
                    "succeeded" if paid else "failed",
                    f"portal-payment-{public_id}",
                    f"pi_bench_{n}",
                    "succeeded" if paid else "requires_payment_method",
                    None if paid else "card_declined",
                    f"R{when:%Y%m%d}-{n:07d}" if paid else None,
                    0,
                    0,
                    0,
                    10_000 + n % 5000 if paid else 0,
                    0,
                    0,
                    1,
                    when,
                    when,
                    when,
                )

        copy(
            conn,
            "payment",
            [
                "id",
                "public_id",
                "account_id",
                "amount_minor",
                "currency",
                "purpose",
                "method",
                "status",
                "idempotency_key",
                "provider_reference",
                "provider_status",
                "failure_code",
                "receipt_number",
                "applied_fees_minor",
                "applied_penalty_interest_minor",
                "applied_interest_minor",
                "applied_principal_minor",
                "excess_minor",
                "refunded_minor",
                "submit_attempts",
                "created_at",
                "submitted_at",
                "completed_at",
            ],
            payment_rows(),
        )
        for table in ("lender", "borrower", "account", "payment"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in ("lender", "borrower", "account", "payment")
        }
    log(f"  seeded {counts} in {time.monotonic() - started:.1f} s")
    return {
        "account_number": BENCH_ACCOUNT,
        "date_of_birth": BENCH_DOB.strftime("%Y%m%d"),
        "id_last4": last4(BENCH_NATIONAL_ID),
        "account_id": 1,
        "name": "王芳",
        "counts": counts,
    }
