"""Database behaviour that every request shares, and the one rule for transactions.

Transactions
------------
A request is one transaction. Views and services add, change and flush; none of them commits.
When the view (or a before-request hook) has produced a response, ``commit_request`` commits
once; every error handler rolls back first (``abandon_request``, used by errors.py and the
API's problem handler), so a failed request leaves nothing behind but what its handler records
on purpose (the API's audit of the failed call). Two other boundaries exist, each named:

* ``commit_before_external_call(reason)``: where a network call must sit between two commits
  (Stripe in payments.service, a webhook POST in outbox.delivery). A database transaction
  never stays open while waiting on another system.
* A ``portal`` CLI command is one transaction too, committed when it succeeds
  (``command_transaction``).
* ``own_transaction(bind)``: a short transaction of its own, for work that must happen after
  the caller's transaction has committed and that records its outcome at once (sending the
  text messages a request wrote, portal/sms/delivery.py). It runs on the caller's bind, so in
  tests it joins the test's rolled-back connection.

Every commit is in this module: ``tests/test_transactions.py`` fails if anything else in
``portal/`` calls ``commit()``.

Reading without a transaction
-----------------------------
GET views marked ``@get_without_transaction`` run their SQL on a pooled connection in
autocommit mode: a transaction costs two more round trips (BEGIN, ROLLBACK) on every page
view, as much as the queries themselves. Such a view must accept GET only (checked when the
app starts); the only write its request can make is ending an idle session, a single UPDATE
that is atomic on its own. Where that connection comes from is ``ReadingConnections``, which
the tests replace with their own rolled-back connection.

SQLite (the embedded default)
-----------------------------
Python's sqlite3 module opens transactions lazily and on its own terms, which breaks
SAVEPOINTs and lets DDL escape transactions; SQLAlchemy's documented recipe hands transaction
control back to SQLAlchemy. The transaction of a writing request (any method but GET and HEAD)
or a CLI command begins IMMEDIATE: it takes the write lock at once, waiting up to the busy
timeout, because a deferred transaction that reads and then writes fails with
SQLITE_BUSY_SNAPSHOT when another writer went first, whatever the timeout. Reading transactions
stay deferred, so that readers never wait for a writer (WAL). Foreign keys are off
unless asked for; the database file is readable by its owner only.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from portal.extensions import db

READ_METHODS = frozenset({"GET", "HEAD"})
log = logging.getLogger(__name__)


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if _is_sqlite(dbapi_connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        # Readers never block the writer (the demo server is threaded).
        cursor.execute("PRAGMA journal_mode = WAL")
        _owner_only(cursor)
        cursor.close()


def _owner_only(cursor) -> None:
    """Borrowers' data: the database file and its WAL companions readable by their owner only."""
    for _, name, path in cursor.execute("PRAGMA database_list").fetchall():
        if name != "main" or not path:
            continue  # an in-memory database
        for file in (path, f"{path}-wal", f"{path}-shm"):
            if os.path.exists(file) and stat.S_IMODE(os.stat(file).st_mode) & 0o077:
                os.chmod(file, 0o600)


@event.listens_for(Engine, "checkout")
def _sqlite_on_checkout(dbapi_connection, connection_record, connection_proxy):
    # After an autocommit connection SQLAlchemy puts back pysqlite's own transaction handling
    # (isolation_level ""); hand it back to SQLAlchemy every time.
    if _is_sqlite(dbapi_connection):
        dbapi_connection.isolation_level = None


WRITING = "portal_writing"  # an execution option: this transaction will write


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name == "sqlite" and not _autocommit(connection):
        immediate = connection.get_execution_options().get(WRITING)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_writing() -> None:
    """Start this request's or command's transaction as one that writes (SQLite: IMMEDIATE).

    On PostgreSQL it changes nothing; the connection is taken when the transaction needs it.
    """
    if db.engine.dialect.name == "sqlite" and not db.session().in_transaction():
        db.session.connection(execution_options={WRITING: True})


def _autocommit(connection) -> bool:
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def get_without_transaction(view):
    """Mark a GET-only view whose SQL runs without a transaction (see the module docstring).

    Never put this on a view that writes (payments.show settles payments on GET).
    """
    view.without_transaction = True
    return view


# PostgreSQL's SQLSTATEs for "the server is not there": connection exceptions (class 08), shutting
# down or starting up (57P01-57P03), too many connections (53300).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite's primary result codes for "another writer holds the database": SQLITE_BUSY and
# SQLITE_LOCKED. Errors carry extended codes (SQLITE_BUSY_SNAPSHOT is 517 = 5 | 2 << 8), whose
# low byte is the primary code.
_SQLITE_BUSY_CODES = {5, 6}


def database_unavailable(error: DBAPIError) -> bool:
    """Whether a database error means "not reachable right now, try again" rather than a bug.

    A deadlock, a statement timeout or a missing table is also an OperationalError; those
    must stay 500s with a traceback, not look like a busy moment.
    """
    if error.connection_invalidated:
        return True
    original = error.orig
    state = getattr(original, "sqlstate", None)
    if state:
        return state.startswith(_UNAVAILABLE_STATES)
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_BUSY_CODES
    # psycopg reports a connection that could not be made without any SQLSTATE.
    return isinstance(error, OperationalError) and type(original).__module__.startswith("psycopg")


def release_session() -> None:
    """End the request's database session, even when the database has just gone away.

    Closing rolls back what is open; if the server ended the connection meanwhile (a restart),
    that ROLLBACK fails although the server has already rolled back everything uncommitted.
    SQLAlchemy has marked the connection dead by then, so closing once more completes.
    """
    try:
        db.session.remove()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.warning("database connection lost while closing the session: %s", error.orig)
        db.session.remove()


def abandon_request() -> None:
    """Roll back everything the request did (every error handler calls this first)."""
    release_session()


def commit_before_external_call(reason: str) -> None:
    """Commit now, because ``reason`` (a network call) must not wait inside a transaction.

    The one boundary besides the end of a request and of a CLI command; ``reason`` is there
    for the reader of the calling code.
    """
    db.session.commit()


@contextmanager
def command_transaction() -> Iterator[None]:
    """A CLI command: one transaction, committed when the command succeeds, else rolled back."""
    begin_writing()
    try:
        yield
    except BaseException:
        abandon_request()
        raise
    db.session.commit()


@contextmanager
def own_transaction(bind: Engine | Connection) -> Iterator[Session]:
    """A separate session and transaction on ``bind``, committed when the block succeeds.

    On an engine it takes a pooled connection of its own; on a connection already inside a
    transaction (the tests') it works inside that transaction and leaves it open.
    """
    with Session(bind=bind, expire_on_commit=False) as session:
        with session.begin():
            yield session


def updated(result: Result) -> int:
    """How many rows an UPDATE or DELETE changed (``execute`` is typed as returning a plain
    Result, but for those statements it is a CursorResult, which knows)."""
    return cast(CursorResult, result).rowcount


class ReadingConnections:
    """Where ``@get_without_transaction`` views read: a pooled connection in autocommit mode.

    The tests install their own (tests/conftest.py), whose connection is the test's rolled-back
    transaction.
    """

    def open(self) -> Connection:
        return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def close(self, connection: Connection) -> None:
        connection.close()


def reading_connection() -> Connection:
    """The connection this request's own SQL runs on: the no-transaction one on a
    ``@get_without_transaction`` page, elsewhere the ORM session's, inside its transaction."""
    return g.get("read_connection") or db.session.connection()


def _end_read_connection(app: Flask) -> None:
    connection = g.pop("read_connection", None)
    if connection is not None:
        app.extensions["portal.reading_connections"].close(connection)


def _check_views_without_transaction(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "without_transaction", False) and set(rule.methods or ()) - READ_METHODS - {"OPTIONS"}:
            raise RuntimeError(f"{rule.endpoint} runs without a transaction but accepts {sorted(rule.methods or ())}")


def init_app(app: Flask) -> None:
    """Register the no-transaction reads (before the session loader, so that its query already
    runs that way) and the session's end. ``init_commit`` comes last, see there."""
    app.extensions["portal.reading_connections"] = ReadingConnections()

    def end_request_database(exc):
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier, run later), which
        # then finds nothing left to close.
        try:
            release_session()
        finally:
            _end_read_connection(app)

    app.teardown_appcontext(end_request_database)

    @app.before_request
    def choose_how_the_request_reaches_the_database():
        if request.method not in READ_METHODS:
            begin_writing()
            return
        if getattr(app.view_functions.get(request.endpoint), "without_transaction", False):
            # One app context can serve several requests (test clients): start afresh.
            release_session()
            _end_read_connection(app)
            connection = g.read_connection = app.extensions["portal.reading_connections"].open()
            # The request's ORM session (for views that load ORM objects) on that connection.
            db.session(bind=connection)


def init_commit(app: Flask) -> None:
    """Commit at the end of every request that produced a response.

    Registered after every other after-request hook, so it runs before them (Flask runs them in
    reverse): a database that fails at commit still gets a proper 503 page, with the security
    headers and compression the other hooks add. Blueprint hooks (the API's audit of each call)
    run before any app hook, so what they record is committed here too.
    """
    from portal import errors

    _check_views_without_transaction(app)

    @app.after_request
    def commit_request(response):
        if not db.session.registry.has():
            return response  # the request never touched the database
        try:
            db.session.commit()
        except DBAPIError as error:
            abandon_request()
            return errors.database_error_response(error)
        return response
