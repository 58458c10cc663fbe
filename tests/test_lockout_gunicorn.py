"""The lockout holds however the app is started: gunicorn with two workers, no Redis, the
embedded SQLite file. Each attempt comes from a fresh browser (a new cookie jar), as someone
reopening the link in a private window would send it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import flask_migrate
import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from portal.access.throttle import PER_ACCOUNT
from portal.extensions import db
from portal.models import AuditEvent
from tests.factories import AccountFactory
from tests.helpers import make_link
from tests.local import free_port, stop_group, wait_for_port

pytestmark = pytest.mark.committing

ROOT = Path(__file__).resolve().parent.parent
ID_HASH_KEY = "testing-id-hash-key-not-secret-0000000"  # the testing mode's, so factories' hashes match
WORKERS = 2


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory):
    return tmp_path_factory.mktemp("gunicorn") / "portal.sqlite3"


@pytest.fixture
def seeded(make_app, sqlite_file):
    """The app on the SQLite file the server uses: migrated, for seeding and reading back."""
    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{sqlite_file}", ID_HASH_KEY=ID_HASH_KEY)
    with other.app_context():
        flask_migrate.upgrade()
        yield other
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name != "alembic_version":
                    conn.execute(table.delete())


@pytest.fixture(scope="module")
def server(sqlite_file, tmp_path_factory):
    """gunicorn, two workers (threads too, so requests really overlap), development mode, no
    REDIS_URL: each worker's Flask-Limiter keeps its own memory, the lockout is in the file."""
    port = free_port()
    log = tmp_path_factory.mktemp("gunicorn-log") / "gunicorn.log"
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
        "PORTAL_ENV": "development",
        "DATABASE_URL": f"sqlite:///{sqlite_file}",
        "SECRET_KEY": "s" * 48,
        "ID_HASH_KEY": ID_HASH_KEY,
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
        "SMS_BACKEND": "database",
    }
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(WORKERS),
                "-k",
                "gthread",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}", log
    finally:
        stop_group(process)


def _fresh_browser(base: str, code: str) -> tuple[requests.Session, str]:
    """A new cookie jar that opened the link; returns it with the form's CSRF token."""
    browser = requests.Session()
    page = browser.get(f"{base}/r/{code}", timeout=30)
    form = BeautifulSoup(page.text, "html.parser").find("input", attrs={"name": "csrf_token"})
    return browser, form["value"] if form else ""


def _answer(base: str, browser: requests.Session, token: str, dob: str, last4: str) -> int:
    response = browser.post(
        f"{base}/verify",
        data={"csrf_token": token, "date_of_birth": dob, "id_last4": last4},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def _count(action: str) -> int:
    db.session.remove()
    return db.session.execute(select(func.count()).where(AuditEvent.action == action)).scalar_one()


def test_five_wrong_answers_from_fresh_browsers_lock_every_worker(server, seeded):
    base, log = server
    account = AccountFactory()
    code = make_link(account)
    last4 = account.borrower.national_id_last4
    statuses = []
    for _ in range(PER_ACCOUNT.max_failures):
        browser, token = _fresh_browser(base, code)
        statuses.append(_answer(base, browser, token, "19800101", last4))
    assert statuses == [400] * (PER_ACCOUNT.max_failures - 1) + [429], log.read_text()[-2000:]
    # The sixth, with the right answers, from yet another browser and whichever worker: refused.
    for _ in range(WORKERS * 2):
        browser, token = _fresh_browser(base, code)
        assert _answer(base, browser, token, "19900512", last4) == 429
    assert _count("verification.failed") == PER_ACCOUNT.max_failures
    assert _count("borrower.signed_in") == 0


def test_parallel_attempts_never_pass_the_limit_nor_fail_with_500(server, seeded):
    """Twelve wrong answers at once for one account, and six people signing in at the same
    moment: at most five wrong answers are ever compared, nothing answers 500 (busy is 503),
    and every answered attempt is on the record."""
    base, log = server
    target = AccountFactory()
    target_code = make_link(target)
    others = [AccountFactory() for _ in range(6)]
    jobs = [(target_code, "19800101", "0000") for _ in range(12)]
    jobs += [(make_link(a), "19900512", a.borrower.national_id_last4) for a in others]
    prepared = [(_fresh_browser(base, code), dob, last4) for code, dob, last4 in jobs]
    barrier = threading.Barrier(len(prepared))

    def attempt(job):
        (browser, token), dob, last4 = job
        barrier.wait()
        return _answer(base, browser, token, dob, last4)

    with ThreadPoolExecutor(len(prepared)) as pool:
        statuses = list(pool.map(attempt, prepared))
    wrong, right = statuses[:12], statuses[12:]
    assert 500 not in statuses, log.read_text()[-3000:]
    assert set(wrong) <= {400, 429, 503} and set(right) <= {303, 503}, statuses
    failed, refused = _count("verification.failed"), _count("verification.refused")
    assert failed <= PER_ACCOUNT.max_failures
    assert failed + refused == sum(1 for s in wrong if s != 503)
    assert _count("borrower.signed_in") == right.count(303)
    assert right.count(303) >= 1
