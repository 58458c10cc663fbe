"""Contact evaluation throughput through POST /api/v1/contacts:batch, and the cost of one evaluation.

    python tests/benchmarks/contacts.py [--accounts 10000] [--contacts 100000]

Starts from an empty PostgreSQL database (bench_contacts on 127.0.0.1:5432, recreated), creates
the accounts through POST /api/v1/accounts:batch, then reports the contacts in time order,
1,000 per call, spread over the accounts (a few calls a day each, some at night, so breaches are
found and their events written). Prints a table: contacts per second, SQL statements per contact,
and the time of one evaluation of an account's window in memory (portal/collection/engine.py).
The issue's target is 1,000,000 contacts for 100,000 accounts at ≥ 5,000 contacts/s; pass those
sizes to measure it. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DATABASE = "bench_contacts"
URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
PORTAL = str(Path(sys.executable).with_name("portal"))
ENV = {"PORTAL_ENV": "testing", "ID_HASH_KEY": "bench-contacts", "SECRET_KEY": "bench"}


def fresh_database() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    env = {**os.environ, **ENV, "DATABASE_URL": URL}
    subprocess.run([PORTAL, "db", "upgrade"], env=env, check=True, capture_output=True)


def account(i: int) -> dict:
    return {
        "account_number": f"BC{i:07d}",
        "product": "随心借",
        "borrower_name": "王芳",
        "phone": f"+86138{i:08d}",
        "date_of_birth": "1990-05-12",
        "national_id": f"1101011990{i:08d}",
        "currency": "CNY",
        "principal": "1000.00",
        "interest": "0",
        "penalty_interest": "0",
        "fees": "0",
        "overdue_amount": "1000.00",
        "due_date": "2026-10-01",
        "days_past_due": 30,
    }


def contact(n: int, accounts: int, start: datetime) -> dict:
    # Contact n goes to account n % accounts; every round of all accounts is ~2.5 hours later.
    when = start + timedelta(minutes=150 * (n // accounts) + (n % accounts) % 60)
    return {
        "contact_id": f"X{n:09d}",
        "account_number": f"BC{n % accounts:07d}",
        "occurred_at": when.isoformat(),
        "channel": "call" if n % 5 else "sms",
        "direction": "outbound",
        "outcome": ("answered", "no_answer", "no_answer", "message_left")[n % 4],
        "party": "borrower" if n % 7 else "relative",
        "agent_id": f"A-{n % 50}",
        "agency_code": f"AG{n % 5}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    fresh_database()
    os.environ.update(ENV)
    from sqlalchemy import event

    from portal import create_app
    from portal.api.clients import create_client
    from portal.collection.engine import Context, Fact, evaluate
    from portal.extensions import db
    from portal.models import Lender

    app = create_app({"SQLALCHEMY_DATABASE_URI": URL, "RATELIMIT_ENABLED": False})
    with app.app_context():
        lender = Lender(code="BENCH", name="Bench Lender")
        db.session.add(lender)
        db.session.flush()
        _, token = create_client("bench-contacts", lender, ["accounts:write", "contacts:write"])
        db.session.commit()
        statements = [0]
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    http = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for first in range(0, args.accounts, 1000):
        payload = {"accounts": [account(i) for i in range(first, min(first + 1000, args.accounts))]}
        assert http.post("/api/v1/accounts:batch", json=payload, headers=headers).status_code == 200
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    statements[0] = 0
    started = time.perf_counter()
    breaches = 0
    for first in range(0, args.contacts, 1000):
        payload = {
            "contacts": [contact(n, args.accounts, start) for n in range(first, min(first + 1000, args.contacts))]
        }
        response = http.post("/api/v1/contacts:batch", json=payload, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        breaches += sum(1 for c in response.json["contacts"] if not c["compliant"])
    elapsed = time.perf_counter() - started
    # One evaluation: an account's 9-day window of 40 contacts, in memory.
    facts = [
        Fact(f"c{n}", start + timedelta(hours=5 * n), "call", "outbound", "no_answer", "borrower", "+8613800138000")
        for n in range(40)
    ]
    context = Context("CN", "Asia/Shanghai")
    runs = 2000
    t0 = time.perf_counter()
    for _ in range(runs):
        evaluate(facts, context)
    one = (time.perf_counter() - t0) / runs
    with app.app_context():
        db.engine.dispose()
    print(
        "\n| accounts | contacts | contacts/s (batch API, 1,000 per call) | SQL statements per contact "
        "| breaching contacts | one evaluation (40 contacts, in memory) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.accounts:,} | {args.contacts:,} | {args.contacts / elapsed:,.0f} | "
        f"{statements[0] / args.contacts:.2f} | {breaches:,} | {one * 1e6:,.0f} µs |"
    )


if __name__ == "__main__":
    main()
