"""Integration throughput: batch account upserts through the API, and outbox delivery.

    python tests/benchmarks/integration.py [--accounts 100000] [--events 5000]

Uses its own PostgreSQL database (bench_integration on 127.0.0.1:5432, recreated each run)
and a real HTTP receiver on 127.0.0.1. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("PORTAL_ENV", "testing")

DATABASE = "bench_integration"
BASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def fresh_database() -> str:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    return BASE_URL + DATABASE


def account(i: int) -> dict:
    return {
        "account_number": f"B{i:09d}",
        "product": "随心借",
        "borrower_name": "王芳",
        "phone": f"+86138{i % 100_000_000:08d}",
        "date_of_birth": "1990-05-12",
        "national_id": f"1101011990{i:08d}",
        "currency": "CNY",
        "principal": "2000.00",
        "interest": "36.50",
        "penalty_interest": "4.20",
        "fees": "0",
        "overdue_amount": "2040.70",
        "due_date": "2026-11-25",
        "days_past_due": 3,
        "locale": "zh_Hans",
        "timezone": "Asia/Shanghai",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000)
    args = parser.parse_args()

    import flask_migrate

    from portal import create_app
    from portal.api.clients import create_client
    from portal.extensions import db
    from portal.models import Account, Lender
    from portal.outbox import delivery
    from portal.outbox.events import emit
    from tests.api.receiver import Receiver

    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_database(), "RATELIMIT_ENABLED": False})
    rows = []
    with app.app_context():
        flask_migrate.upgrade()
        lender = Lender(code="BENCH", name="Bench Lender")
        db.session.add(lender)
        db.session.flush()
        _, token = create_client("bench", lender, ["accounts:write"])
        receiver = Receiver()
        client, _ = create_client("bench-hooks", lender, ["events:read"], webhook_url=receiver.url)
        db.session.commit()
        lender_id = lender.id

    http = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    for start in range(0, args.accounts, 1000):
        batch = [account(i) for i in range(start, min(start + 1000, args.accounts))]
        response = http.post("/api/v1/accounts:batch", json={"accounts": batch}, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    elapsed = time.perf_counter() - started
    rows.append(("batch upsert (create), 1,000 per call", args.accounts, elapsed))

    started = time.perf_counter()
    for start in range(0, min(args.accounts, 20_000), 1000):
        batch = [account(i) for i in range(start, start + 1000)]
        http.post("/api/v1/accounts:batch", json={"accounts": batch}, headers=headers)
    rows.append(("batch upsert (unchanged), 1,000 per call", min(args.accounts, 20_000), time.perf_counter() - started))

    with app.app_context():
        accounts = db.session.query(Account).limit(500).all()
        for i in range(args.events):
            emit("payment.succeeded", lender_id=lender_id, account=accounts[i % len(accounts)], data={"sequence": i})
        db.session.commit()
        started = time.perf_counter()
        while True:
            result = delivery.deliver_due(limit=200)
            if result.sent == 0:
                break
        elapsed = time.perf_counter() - started
        rows.append(("outbox delivery to a local receiver (1 worker)", args.events, elapsed))
        assert len(receiver.unique()) == args.events
        receiver.stop()
        db.engine.dispose()

    print(f"\n{'what':<48} {'items':>9} {'seconds':>9} {'per second':>11}")
    for what, count, seconds in rows:
        print(f"{what:<48} {count:>9,} {seconds:>9.1f} {count / seconds:>11,.0f}")
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=False)


if __name__ == "__main__":
    main()
