"""Parallel API writes against a real server on the embedded SQLite default: each succeeds or
is a 503 "try again", never a 500, and every answered call keeps its audit record.

The server is gunicorn with two worker processes of four threads, on one SQLite file: writers
in different processes and threads contend for SQLite's single write lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import flask_migrate
import pytest

from portal.api.clients import create_client
from portal.extensions import db as _db
from tests.factories import AccountFactory, BorrowerFactory, LenderFactory
from tests.helpers import API_ACCOUNT
from tests.local import free_port, request, stop_group, wait_for_port

ROOT = Path(__file__).parents[2]
THREADS = 8
CALLS_EACH = 6
ACCOUNT = API_ACCOUNT


@pytest.fixture
def sqlite_server(tmp_path, make_app):
    database = tmp_path / "portal.sqlite3"
    url = f"sqlite:///{database}"
    seeded = make_app(SQLALCHEMY_DATABASE_URI=url)
    with seeded.app_context():
        flask_migrate.upgrade()
        lender = LenderFactory(code="SUNRISE")
        AccountFactory(borrower=BorrowerFactory(lender=lender), account_number="SR001")
        _, token = create_client("core", lender, ["accounts:write", "links:write"])
        _db.session.commit()
        _db.session.remove()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PORTAL_ENV="development", DATABASE_URL=url, PYTHONUNBUFFERED="1")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port)
        yield port, token, database
    finally:
        stop_group(server)


@pytest.mark.committing
def test_parallel_api_writes_succeed_or_are_busy_never_500_and_keep_their_audit(sqlite_server):
    port, token, database = sqlite_server
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def caller(n: int):
        start.wait()
        for i in range(CALLS_EACH):
            if i % 3 == 0:  # everyone updates the same account
                call = ("PUT", "/api/v1/accounts/SR001", {**ACCOUNT, "fees": f"{n}.{i:02d}"})
                call[2]["overdue_amount"] = f"{2040.70 + n + i / 100:.2f}"
            elif i % 3 == 1:  # and creates accounts of its own
                call = ("PUT", f"/api/v1/accounts/P{n}-{i}", ACCOUNT)
            else:
                call = ("POST", "/api/v1/reminder-links", {"account_number": "SR001"})
            status, _, body = request(port, call[0], call[1], headers=auth, body=json.dumps(call[2]).encode())
            with lock:
                answers.append((status, body.decode()[:200]))

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    statuses = Counter(status for status, _ in answers)
    assert len(answers) == THREADS * CALLS_EACH
    assert set(statuses) <= {200, 201, 503}, [a for a in answers if a[0] not in (200, 201, 503)][:3]
    answered = statuses[200] + statuses[201]
    assert answered >= len(answers) * 0.9, statuses  # a busy moment, not a failing service

    with sqlite3.connect(database) as connection:
        audited = Counter(
            json.loads(details)["status"]
            for (details,) in connection.execute("SELECT details FROM audit_event WHERE action = 'api.call'")
        )
        links = connection.execute("SELECT count(*) FROM reminder_link").fetchone()[0]
        link_audits = connection.execute("SELECT count(*) FROM audit_event WHERE action = 'link.created'").fetchone()[0]
        created = connection.execute("SELECT count(*) FROM account WHERE account_number LIKE 'P%'").fetchone()[0]
    # Every answered call is audited with its status; every link and account that exists is too.
    assert audited[200] == statuses[200] and audited[201] == statuses[201]
    assert links == link_audits == sum(1 for s, b in answers if s == 201 and '"code"' in b)
    assert created == sum(1 for s, b in answers if s == 201 and '"account_number"' in b)
