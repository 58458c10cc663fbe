"""Import throughput and memory: `portal import` against plain-Python validation, and the batch API.

    python tests/benchmarks/import.py [--rows 100000,1000000] [--backends postgresql,sqlite]
                                      [--batch-accounts 20000]

For each backend and size it writes two CSV files (N new accounts, one borrower each; the same
accounts with every amount changed), starts from an empty database (PostgreSQL: the database
bench_import on 127.0.0.1:5432, recreated; SQLite: a new file), runs `portal db upgrade`, then
times, each in its own `portal import` process (peak RSS from the kernel's accounting of that
process):

- reading and validating the new file in plain Python (csv, Decimal, phonenumbers parse and
  validity, HMAC of the ID): the floor any importer pays;
- `portal import` of the new file (all created), of the same file again (all unchanged), of the
  changed file (all updated);
- `POST /api/v1/accounts:batch` with 1,000 accounts per call, in process (created, unchanged).

Prints a table; asserts nothing. Targets (issue 11): on PostgreSQL the import takes at most 3×
the validation time, an unchanged or changed file no longer than the first import, peak RSS at
most 300 MB at 100,000 rows and at most 10 % more at 1,000,000, batches ≥ 10× 1,100-1,500
accounts/s.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from portal.imports.service import COLUMNS  # noqa: E402 - the file's columns, as the import reads them

DATABASE = "bench_import"
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
PORTAL = str(Path(sys.executable).with_name("portal"))
ID_HASH_KEY = "bench-import-id-hash-key"


def row(i: int, changed: bool) -> tuple:
    principal = Decimal(2000 + i % 5000) + (Decimal("0.25") if changed else 0)
    interest, penalty, fees = Decimal("36.50"), Decimal("4.20"), Decimal(0)
    return (
        f"L{i % 10}",
        f"Lender {i % 10}",
        f"A{i:09d}",
        "随心借",
        "王芳",
        f"+86138{i % 100_000_000:08d}",
        "1990-05-12",
        f"1101011990{i:08d}",
        "CNY",
        f"{principal:.2f}",
        f"{interest:.2f}",
        f"{penalty:.2f}",
        f"{fees:.2f}",
        f"{principal + interest + penalty + fees:.2f}",
        "2026-11-25",
        "3",
        "zh_Hans",
        "Asia/Shanghai",
    )


def write_file(path: Path, rows: int, changed: bool) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(row(i, changed) for i in range(rows))


def plain_validation(path: Path) -> float:
    """What the issue measured: csv, Decimal, phonenumbers parse + validity, HMAC of the ID."""
    import phonenumbers

    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        at = {name: header.index(name) for name in COLUMNS}
        for values in reader:
            for name in ("principal", "interest", "penalty_interest", "fees", "overdue_amount"):
                Decimal(values[at[name]])
            phonenumbers.is_valid_number(phonenumbers.parse(values[at["phone"]], "CN"))
            hmac.new(ID_HASH_KEY.encode(), values[at["national_id"]].encode(), hashlib.sha256).hexdigest()
    return time.perf_counter() - started


def environment(database_url: str) -> dict:
    return {
        **os.environ,
        "PORTAL_ENV": "testing",
        "DATABASE_URL": database_url,
        "ID_HASH_KEY": ID_HASH_KEY,
        "SECRET_KEY": "bench",
    }


def portal(args: list[str], database_url: str) -> tuple[float, float, str]:
    """Run one `portal` command; its wall time, its peak RSS in MB, and its last line of output."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [PORTAL, *args],
        env=environment(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"portal {' '.join(args)} failed: {output[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, output.strip().splitlines()[-1] if output.strip() else ""


def fresh_database(backend: str, folder: Path) -> str:
    if backend == "postgresql":
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
        url = SERVER + DATABASE
    else:
        path = folder / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    subprocess.run([PORTAL, "db", "upgrade"], env=environment(url), check=True, capture_output=True)
    return url


def batch_api(database_url: str, accounts: int) -> tuple[float, float]:
    """Accounts per second through POST /api/v1/accounts:batch, 1,000 per call: created, unchanged."""
    os.environ.update(PORTAL_ENV="testing", ID_HASH_KEY=ID_HASH_KEY, SECRET_KEY="bench")
    from portal import create_app
    from portal.api.clients import create_client
    from portal.extensions import db
    from portal.models import Lender

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        lender = Lender(code="BATCH", name="Batch Lender")
        db.session.add(lender)
        db.session.flush()
        _, token = create_client("bench-batch", lender, ["accounts:write"])
        db.session.commit()
    http = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def body(start: int) -> dict:
        items = []
        for i in range(start, start + 1000):
            values = dict(zip(COLUMNS, row(i, False), strict=True))
            for name in ("lender_code", "lender_name"):
                del values[name]
            items.append(values)
        return {"accounts": items}

    # Encoded once, before the clock starts: what is timed is the portal's work, not the client's.
    bodies = [json.dumps(body(start)).encode() for start in range(0, accounts, 1000)]
    rates = []
    for _ in ("created", "unchanged"):
        started = time.perf_counter()
        for payload in bodies:
            response = http.post(
                "/api/v1/accounts:batch", data=payload, content_type="application/json", headers=headers
            )
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
        rates.append(accounts / (time.perf_counter() - started))
    with app.app_context():
        db.engine.dispose()
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000", help="comma-separated file sizes")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--batch-accounts", type=int, default=20_000)
    parser.add_argument("--database", default=DATABASE, help="PostgreSQL database to (re)create")
    args = parser.parse_args()
    globals()["DATABASE"] = args.database
    sizes = [int(n) for n in args.rows.split(",")]
    table = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        for size in sizes:
            new, changed = folder / f"new-{size}.csv", folder / f"changed-{size}.csv"
            write_file(new, size, changed=False)
            write_file(changed, size, changed=True)
            validation = min(plain_validation(new) for _ in range(2))
            for backend in args.backends.split(","):
                url = fresh_database(backend, folder)
                first = portal(["import", str(new)], url)
                again = portal(["import", str(new)], url)
                updated = portal(["import", str(changed)], url)
                table.append((backend, size, validation, first, again, updated))
                print(f"{backend} {size:,}: {first[2]} | {again[2]} | {updated[2]}", file=sys.stderr)
            new.unlink()
            changed.unlink()
        batches = {}
        for backend in args.backends.split(","):
            batches[backend] = batch_api(fresh_database(backend, folder), args.batch_accounts)
    if "postgresql" in args.backends:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=False)

    print()
    print(
        "| backend | rows | plain-Python validation | import (new) | ÷ validation | re-import unchanged "
        "| import changed amounts | peak RSS new / unchanged / changed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for backend, size, validation, first, again, updated in table:
        print(
            f"| {backend} | {size:,} | {validation:.1f} s | {first[0]:.1f} s ({size / first[0]:,.0f} rows/s) "
            f"| {first[0] / validation:.2f} | {again[0]:.1f} s | {updated[0]:.1f} s "
            f"| {first[1]:.0f} / {again[1]:.0f} / {updated[1]:.0f} MB |"
        )
    print()
    print(f"| backend | batch API, 1,000 per call: created | unchanged | ({args.batch_accounts:,} accounts) |")
    print("|---|---|---|---|")
    for backend, (created, unchanged) in batches.items():
        print(f"| {backend} | {created:,.0f} accounts/s | {unchanged:,.0f} accounts/s | |")
    by = {(b, s): first[0] for b, s, _, first, _, _ in table}
    for size in sizes:
        if ("postgresql", size) in by and ("sqlite", size) in by:
            ratio = by[("sqlite", size)] / by[("postgresql", size)]
            print(f"\nSQLite ÷ PostgreSQL import time at {size:,} rows: {ratio:.2f}")


if __name__ == "__main__":
    main()
