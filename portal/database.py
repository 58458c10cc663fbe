"""Make SQLite (the embedded default) behave like a real transactional database.

Python's sqlite3 module opens transactions lazily and on its own terms, which breaks
SAVEPOINTs and lets DDL escape transactions; SQLAlchemy's documented recipe hands
transaction control back to SQLAlchemy. Foreign keys are off in SQLite unless asked for.
"""

from sqlalchemy import event
from sqlalchemy.engine import Engine


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


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
