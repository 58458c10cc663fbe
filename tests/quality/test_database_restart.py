"""Fault: PostgreSQL restarts while borrowers are reading and paying.

The test runs its own PostgreSQL server (initdb into a temporary folder, as the ``postgres``
system user), so it can stop and start it without disturbing the suite's database. Four
borrowers keep loading their dashboard and starting payments while the server restarts.
While it is down, every request gets the localised "busy, try again" page with a 503 and a
Retry-After header, never a 500. Once it is back, the same signed-in sessions work again
without anyone signing in anew. Every payment that was recorded has its audit record, and
no audit record names a payment that does not exist: nothing was half written.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter

import flask_migrate
import pytest
from sqlalchemy import select

from portal.extensions import db as _db
from portal.models import AuditEvent, Payment
from tests.helpers import sign_in_through_link
from tests.local import free_port
from tests.quality import world as w

pytestmark = [pytest.mark.postgres, pytest.mark.committing]

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
BORROWERS = 4


class OwnPostgres:
    """A throw-away PostgreSQL server on a free port; fsync off, trust authentication."""

    def __init__(self):
        self.bin = BINARIES[-1]
        self.folder = tempfile.mkdtemp(prefix="portal-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = free_port()
        shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(
            "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", f"{self.bin}/{program}", *args],  # noqa: S603
            check=True,
            capture_output=True,
            timeout=60,
        )

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off"
        self._as_postgres("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.folder, "log"), "-w", *args)

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                f"{self.bin}/pg_ctl",
                "-D",
                self.data,  # noqa: S603
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def own_postgres(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL run covers this (DATABASE_URL=postgresql://...)")
    if not BINARIES or not shutil.which("runuser") or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL's server binaries and root (to run them as postgres)")
    server = OwnPostgres()
    try:
        server.pg_ctl("start")
        yield server
    finally:
        server.remove()


def pay_in_full(client, account_id: int):
    """Open the pay page and choose to pay everything: a transaction that writes a payment
    and its audit record. The page itself may already be the "busy" page."""
    page = client.get(f"/accounts/{account_id}/pay")
    if page.status_code != 200:
        return page
    token = page.soup.find("input", attrs={"name": "csrf_token"})["value"]
    return client.post(f"/accounts/{account_id}/pay", data={"csrf_token": token, "choice": "full"})


def test_a_database_restart_fails_requests_cleanly_and_they_recover(make_app, own_postgres):
    app = make_app(SQLALCHEMY_DATABASE_URI=own_postgres.url)
    with app.app_context():
        flask_migrate.upgrade()
        worlds = [w.make_borrower(name=f"借款人{i}") for i in range(BORROWERS)]
        clients = []
        for world in worlds:
            client = app.test_client()
            sign_in_through_link(client, world.account)
            clients.append((client, world.account.id))
        _db.session.remove()

    statuses: Counter = Counter()
    unexpected: list[str] = []
    restarted = threading.Event()
    recovered = [False] * BORROWERS

    def borrower(index: int) -> None:
        client, account_id = clients[index]
        deadline = time.monotonic() + 60
        after_restart_ok = 0
        while time.monotonic() < deadline and after_restart_ok < 5:
            for response in (client.get("/dashboard"), pay_in_full(client, account_id)):
                statuses[response.status_code] += 1
                if response.status_code == 503:
                    text = response.get_data(as_text=True)
                    if response.headers.get("Retry-After") != "5" or "服务暂时繁忙" not in text:
                        unexpected.append(f"503 without its page: {text[:300]}")
                elif response.status_code not in (200, 303):
                    unexpected.append(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
                elif restarted.is_set():
                    after_restart_ok += 1
        recovered[index] = after_restart_ok >= 5

    threads = [threading.Thread(target=borrower, args=(i,)) for i in range(BORROWERS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # under load
    own_postgres.pg_ctl("-m", "fast", "stop")  # ends every connection, as a restart does
    time.sleep(1.0)  # down for a moment: new connections are refused
    own_postgres.pg_ctl("start")
    restarted.set()
    for thread in threads:
        thread.join(timeout=90)

    print(f"\nresponses during a PostgreSQL restart: {dict(sorted(statuses.items()))}")
    assert not unexpected, unexpected[:3]
    assert statuses[503] > 0, "the restart never showed: the test measured nothing"
    assert all(recovered), "signed-in borrowers did not get their pages back after the restart"

    with app.app_context():
        payments = {p.id for p in _db.session.execute(select(Payment)).scalars()}
        audited = {
            int(a.subject_id)
            for a in _db.session.execute(select(AuditEvent).where(AuditEvent.action == "payment.created")).scalars()
        }
        _db.session.remove()
    assert payments, "no payment was started: the test measured nothing"
    assert payments == audited, "a payment and its audit record were not written together"
