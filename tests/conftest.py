"""Test set-up: a real database built by Alembic, each test rolled back, real Redis when named.

DATABASE_URL chooses the database (PostgreSQL in CI; a SQLite file otherwise) and REDIS_URL
the rate-limit store (memory otherwise). Tests that need commits visible to other threads or
processes (browser, concurrency) are marked ``committing`` and clean up after themselves.

Heavy peers start only for the tests that use them: the fake Stripe server (localstripe) on
the first test that asks for ``stripe_server``, Chromium (and Playwright's import) on the first
``browser`` test. Markers select: ``-m "not browser"`` is the quick loop; ``postgres`` and
``redis`` tests skip themselves without those servers, and the run says so in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import uuid

os.environ["PORTAL_ENV"] = "testing"

import flask_migrate  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402
from sqlalchemy.orm import scoped_session, sessionmaker  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db as _db  # noqa: E402
from portal.extensions import limiter  # noqa: E402
from portal.payments.localstripe import LocalStripe, free_port  # noqa: E402
from tests.pages import PageCheckingClient  # noqa: E402


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


WEBHOOK_SECRET = "whsec_test_only_not_a_secret"
RUN_PREFIX = f"test-{uuid.uuid4().hex[:8]}"


def app_config(database_url: str, stripe_base: str | None = None) -> dict:
    return {
        "STRIPE_SECRET_KEY": "sk_test_local",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_local",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_base,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL", "memory://"),
        # A prefix per run: two runs sharing one Redis never see (or reset) each other's
        # counters. The storage's own prefix too: resetting the limiter deletes its keys.
        "RATELIMIT_KEY_PREFIX": RUN_PREFIX,
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": RUN_PREFIX} if os.environ.get("REDIS_URL") else {},
        "PORTAL_BASE_URL": "http://localhost",
        # Text messages stay in the sms_message table, where tests read them.
        "SMS_BACKEND": "database",
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def stripe_port():
    """Where the fake Stripe server listens once started; the app is configured with it."""
    return free_port()


@pytest.fixture(scope="session")
def localstripe(stripe_port):
    """One fake Stripe server per test run, started by the first test that needs it."""
    server = LocalStripe.start(port=stripe_port)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(database_url, stripe_port):
    app = create_app(app_config(database_url, f"http://127.0.0.1:{stripe_port}"))
    app.test_client_class = PageCheckingClient
    with app.app_context():
        if _db.engine.dialect.name == "postgresql":
            with _db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()  # close pooled connections rather than leave them to the GC


class TestConnection:
    """The portal's reading-connection hook (portal/database.py), answered with the test's own
    connection: pages that read without a transaction then see the test's uncommitted data."""

    current: Connection | None = None

    def open(self) -> Connection:
        return self.current

    def close(self, connection: Connection) -> None:
        pass  # the test's, closed when the test ends


def _use_test_connection(app) -> None:
    app.extensions["portal.reading_connections"] = TestConnection()


@pytest.fixture(autouse=True)
def _isolated(request, app):
    """Each test in a transaction that is rolled back, and with empty lockout counters."""
    with app.app_context():
        limiter.reset()
    if request.node.get_closest_marker("committing"):
        yield
        _delete_everything(app)
        return
    with app.app_context():
        connection = _db.engine.connect()
        outer = connection.begin()
        original = _db.session
        _db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
            scopefunc=original.registry.scopefunc,
        )
        reading = app.extensions["portal.reading_connections"]
        _use_test_connection(app)
        TestConnection.current = connection
        try:
            yield
        finally:
            TestConnection.current = None
            app.extensions["portal.reading_connections"] = reading
            _db.session.remove()
            _db.session = original
            outer.rollback()
            connection.close()


def _delete_everything(app) -> None:
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                if table.name == "audit_event" and conn.dialect.name == "postgresql":
                    # The append-only trigger refuses DELETE (migration 0016); TRUNCATE is the
                    # owner's deliberate wipe of a test database, which no row trigger sees.
                    conn.execute(sa.text("TRUNCATE audit_event"))
                else:
                    conn.execute(table.delete())


@pytest.fixture
def db(app):
    with app.app_context():
        yield _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_app(app, database_url):
    """Another app instance (a second worker, a broken dependency).

    Flask-Limiter keeps its storage on the one global extension object, so the main app's
    limiter is re-initialised afterwards.
    """

    made = []

    def make(**overrides):
        other = create_app(
            {
                **app_config(database_url, app.config["STRIPE_API_BASE"]),
                "RATELIMIT_KEY_PREFIX": app.config["RATELIMIT_KEY_PREFIX"],
                **overrides,
            }
        )
        other.test_client_class = PageCheckingClient
        if TestConnection.current is not None:
            _use_test_connection(other)
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            _db.engine.dispose()
    limiter.init_app(app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def stripe_server(localstripe):
    """The fake Stripe server, emptied for this test."""
    localstripe.flush()
    return localstripe


# Browser fixtures: a live server on a free local port and Debian's Chromium through Playwright.
# Here, not in tests/browser/, so every folder shares one Playwright driver (one per thread).
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright  # only runs that drive a browser import it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--headless=new",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium):
    """A fresh phone-sized browser profile (no cookies) per test."""
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    yield page
    context.close()


# --------------------------------------------------------------------------- markers and peers

POSTGRES_ONLY = "postgres"
NEEDS_REDIS = "redis"


def _on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgresql", "postgres:"))


def pytest_collection_modifyitems(config, items):
    """``postgres`` and ``redis`` tests skip themselves when those servers are not configured."""
    skips = {
        POSTGRES_ONLY: None if _on_postgres() else pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL)"),
        NEEDS_REDIS: None if os.environ.get("REDIS_URL") else pytest.mark.skip(reason="needs Redis (REDIS_URL)"),
    }
    for item in items:
        for marker, skip in skips.items():
            if skip is not None and item.get_closest_marker(marker):
                item.add_marker(skip)
    if any(item.get_closest_marker("browser") for item in items):
        _ensure_chromium()


def _ensure_chromium() -> None:
    """Browser tests need Debian's Chromium: install it where we may (root with apt-get, as on
    CI and the project's machines), else stop at once with the one command to run."""
    if os.path.exists(CHROMIUM):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's Chromium for the browser tests (apt-get install chromium)…")
        subprocess.run(["apt-get", "update", "-qq"], check=False)  # noqa: S607
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False)  # noqa: S607
    if not os.path.exists(CHROMIUM):
        pytest.exit(
            f"The browser tests need Chromium at {CHROMIUM}: run `sudo apt-get install -y chromium`, "
            'or leave them out with -m "not browser".',
            returncode=4,
        )


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (pyproject.toml): one process per CPU on SQLite, where each gets its own database
    file; one process on PostgreSQL, where the tests share one database and one of them restarts
    the server (tests/quality/test_database_restart.py)."""
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        return 0
    return None


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    counts = {
        marker: sum(1 for report in skipped if marker in getattr(report, "keywords", {}))
        for marker in (POSTGRES_ONLY, NEEDS_REDIS)
    }
    if counts[POSTGRES_ONLY]:
        terminalreporter.write_line(
            f"{counts[POSTGRES_ONLY]} PostgreSQL-only tests were skipped: run with "
            "DATABASE_URL=postgresql://… to include them."
        )
    if counts[NEEDS_REDIS]:
        terminalreporter.write_line(f"{counts[NEEDS_REDIS]} Redis tests were skipped: set REDIS_URL to include them.")
