"""Database behaviour that every request shares.

* SQLite (the embedded default): Python's sqlite3 module opens transactions lazily and on its
  own terms, which breaks SAVEPOINTs and lets DDL escape transactions; SQLAlchemy's documented
  recipe hands transaction control back to SQLAlchemy. Foreign keys are off unless asked for.
* Read-only pages (``@read_only``) run without a transaction.
* A lost database connection is a "busy, try again" page, and the pool starts afresh.
"""

from __future__ import annotations

import logging

from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from portal.extensions import db

READ_METHODS = frozenset({"GET", "HEAD"})
log = logging.getLogger(__name__)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        # Readers never block the writer (the demo server is threaded).
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


@event.listens_for(Engine, "checkout")
def _sqlite_on_checkout(dbapi_connection, connection_record, connection_proxy):
    # After a read-only request SQLAlchemy puts back pysqlite's own transaction handling
    # (isolation_level ""); hand it back to SQLAlchemy every time.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name == "sqlite" and not _autocommit(connection):
        connection.exec_driver_sql("BEGIN")


def _autocommit(connection) -> bool:
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def read_only(view):
    """Mark a view whose GET only reads, so that its statements run without a transaction.

    A transaction costs two extra round trips to PostgreSQL (BEGIN, ROLLBACK) on every page
    view, as much as the queries themselves. A page that only reads one borrower's rows does
    not need one: each statement sees committed data. The only write such a request can make
    is ending an idle session, a single UPDATE, which is atomic on its own.
    Never put this on a view that writes (payments.show settles payments on GET).
    """
    view.read_only = True
    return view


# PostgreSQL's SQLSTATEs for "the server is not there": connection exceptions (class 08), shutting
# down or starting up (57P01-57P03), too many connections (53300).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
_SQLITE_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED: the demo's one writer is busy


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
    if getattr(original, "sqlite_errorcode", None) is not None:
        return original.sqlite_errorcode in _SQLITE_BUSY_CODES
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


def reading_connection() -> Connection:
    """The connection this request's own SQL runs on.

    On a read-only page, a pooled connection in autocommit mode that the ORM session of the
    request shares; elsewhere the ORM session's, inside its transaction.
    """
    return g.get("read_connection") or db.session.connection()


def _session_bound_to_connection() -> bool:
    # Tests bind the session to one connection inside an outer transaction (rolled back after
    # each test); that connection keeps its transaction.
    return isinstance(db.session.session_factory.kw.get("bind"), Connection)


def _end_read_connection() -> None:
    connection = g.pop("read_connection", None)
    if connection is not None:
        connection.close()


def end_request_database() -> None:
    """Close the request's session, then the read-only connection it may have been bound to."""
    try:
        release_session()
    finally:
        _end_read_connection()


def init_app(app: Flask) -> None:
    # Runs before Flask-SQLAlchemy's own teardown (registered earlier, run later), which then
    # finds nothing left to close.
    app.teardown_appcontext(lambda exc: end_request_database())

    @app.before_request
    def read_without_transaction():
        # Registered before the session loader, so that its query already runs this way.
        if request.method not in READ_METHODS or _session_bound_to_connection():
            return
        if getattr(app.view_functions.get(request.endpoint), "read_only", False):
            # A plain connection and, for views that load ORM objects, a plain ORM session on
            # it: the sign-in check of every page then runs without the ORM session's own
            # bookkeeping, a tenth of a page's time.
            _end_read_connection()  # one app context serving several requests (test clients)
            connection = g.read_connection = db.engine.connect()
            connection.execution_options(isolation_level="AUTOCOMMIT")
            db.session.registry.set(Session(bind=connection))
