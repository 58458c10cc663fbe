"""The one write path for accounts from the loan core: the CSV import and the accounts API.

Validated rows (portal/imports/service.py) go into a temporary staging table in chunks: COPY on
PostgreSQL, executemany on SQLite. The rules between rows (the same account twice, one person
with two birth dates) are checked in SQL on the staging data, so memory stays flat whatever
the size of the file. Then set-based statements write lenders, borrowers and accounts:
``INSERT … SELECT … ON CONFLICT … DO UPDATE … WHERE (columns) IS DISTINCT FROM excluded``,
so an unchanged row costs a comparison. Created / updated / unchanged come from the statements;
every change gets its audit record, written in bulk (portal/audit.py). Everything happens in the
caller's transaction: if any row is wrong the caller writes nothing.

Figures and time (``as_of``)
----------------------------
The loan core's figures are as of a moment (``as_of``; default: when the import started).
Payments and refunds the portal recorded after that moment (``AccountAdjustment``) are applied
again on top of the imported figures, part by part, never below zero; an import whose ``as_of``
is older than that of the figures an account shows is refused for that account (left
unchanged, reported as stale). After every import the status follows the figures: nothing
owed is settled, anything owed on a settled account is overdue again.

Concurrency
-----------
Imports for one lender are serialised (a transaction-scoped advisory lock per lender code on
PostgreSQL; SQLite has one writer). Rows that change nothing are found first, in one statement
that reads the stored figures and the adjustments together, and left alone (neither locked nor
written: a payment committing later keeps them consistent, see ``Staging._skip_unchanged``).
The accounts the import will write are locked (FOR UPDATE) before any statement that computes
their figures, so a payment that commits meanwhile is either seen by the import or applied
after it, never lost; reservations (``reserved_minor``) are never written by an import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    false,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection

from portal import audit
from portal.database import updated
from portal.extensions import db
from portal.models import Account, AccountStatus, Lender, PlanStatus, RepaymentPlan
from portal.models.types import UTCDateTime, utcnow
from portal.outbox.events import emit
from portal.plans import service as plans

# Rows per COPY / executemany when staging, and staged lines per set-based write.
STAGE_CHUNK = 5000
WRITE_CHUNK = 20000
# Problems between rows come after the row's own problems, in this order.
DUPLICATE_SEQ, BIRTH_DATE_SEQ = 1000, 1001

_meta = MetaData()
STAGING = Table(
    "import_staging",
    _meta,
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("lender_code", String(40)),
    Column("lender_name", String(200)),
    Column("account_number", String(64)),
    Column("product", String(200)),
    Column("borrower_name", String(200)),
    Column("phone_e164", String(20)),
    Column("date_of_birth", Date),
    Column("national_id_hash", String(64)),
    Column("national_id_last4", String(4)),
    Column("currency", String(3)),
    Column("principal_minor", BigInteger),
    Column("interest_minor", BigInteger),
    Column("penalty_interest_minor", BigInteger),
    Column("fees_minor", BigInteger),
    Column("overdue_minor", BigInteger),
    Column("due_date", Date),
    Column("days_past_due", Integer),
    Column("locale", String(8)),
    Column("timezone", String(64)),
    Column("as_of", UTCDateTime),
    Column("skip", Boolean, server_default=false(), nullable=False),
    # The portal's own adjustments recorded after the row's as_of (see "Figures and time").
    Column("adj_principal_minor", BigInteger, server_default="0", nullable=False),
    Column("adj_interest_minor", BigInteger, server_default="0", nullable=False),
    Column("adj_penalty_interest_minor", BigInteger, server_default="0", nullable=False),
    Column("adj_fees_minor", BigInteger, server_default="0", nullable=False),
    prefixes=["TEMPORARY"],
)
PROBLEMS = Table(
    "import_problem",
    _meta,
    Column("line", Integer),
    Column("seq", Integer),
    Column("field", String(64)),
    Column("message", String(2000)),
    prefixes=["TEMPORARY"],
)
STAGED_COLUMNS = tuple(c.name for c in STAGING.columns if c.server_default is None)
PARTS = ("principal_minor", "interest_minor", "penalty_interest_minor", "fees_minor")
# Compared to decide whether a stored row changes; last_synced_at and figures_as_of move only then.
_BORROWER_COMPARED = (
    ("name", "borrower_name"),
    ("phone_e164", "phone_e164"),
    ("date_of_birth", "date_of_birth"),
    ("locale", "locale"),
    ("timezone", "timezone"),
)
_ACCOUNT_COMPARED = (
    "borrower_id",
    "product",
    "currency",
    *PARTS,
    "overdue_minor",
    "due_date",
    "days_past_due",
    "status",
)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Rows whose figures are older than the account's: left unchanged, reported.
    stale: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        if self.stale:
            text += f", {len(self.stale)} stale (left unchanged)"
        return text


def _lock_key(lender_code: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory lock of one lender's imports."""
    return int.from_bytes(hashlib.sha256(f"portal.import:{lender_code}".encode()).digest()[:8], "big", signed=True)


class Staging:
    """The staging tables of one import, in the caller's transaction."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or utcnow()
        self.connection: Connection = db.session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        self.rows = 0
        self._rows: list[tuple] = []
        self._problems: list[dict] = []
        schema = "pg_temp" if self.postgres else "temp"
        for table in (STAGING, PROBLEMS):
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{table.name}")
            table.create(self.connection)

    # -- filling --------------------------------------------------------------------------

    def add(self, row: tuple) -> None:
        """One validated row, its values in ``STAGED_COLUMNS`` order."""
        self._rows.append(row)
        self.rows += 1
        if len(self._rows) >= STAGE_CHUNK:
            self._flush_rows()

    def problem(self, error: RowError, seq: int = 0) -> None:
        self._problems.append({"line": error.line, "seq": seq, "field": error.field, "message": error.message})
        if len(self._problems) >= STAGE_CHUNK:
            self._flush_problems()

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        if self.postgres:
            driver = self.connection.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor:
                with cursor.copy(f"COPY import_staging ({', '.join(STAGED_COLUMNS)}) FROM STDIN") as copy:
                    for row in self._rows:
                        copy.write_row(row)
        else:
            rows = [dict(zip(STAGED_COLUMNS, row, strict=True)) for row in self._rows]
            self.connection.execute(insert(STAGING), rows)
        self._rows = []

    def _flush_problems(self) -> None:
        if self._problems:
            self.connection.execute(insert(PROBLEMS), self._problems)
            self._problems = []

    def finish(self) -> None:
        """All rows are in: index them and check the rules between rows."""
        self._flush_rows()
        self._flush_problems()
        if self.postgres:
            # Autovacuum never analyses temporary tables: without statistics the joins below are
            # planned for an empty table. (No other index: PostgreSQL hash-joins the staging data.)
            self.connection.exec_driver_sql("ANALYZE import_staging")
        else:
            # SQLite joins through indexes only.
            for name, columns in (
                ("account", "lender_code, account_number"),
                ("person", "lender_code, national_id_hash"),
            ):
                self.connection.exec_driver_sql(
                    f"CREATE INDEX temp.ix_import_staging_{name} ON import_staging ({columns})"
                )
        self.connection.execute(
            text(
                "INSERT INTO import_problem (line, seq, field, message) "
                "SELECT s.line, :duplicate, 'account_number', "
                "'duplicates the account on line ' || CAST(d.first AS TEXT) "
                "FROM import_staging s JOIN ("
                "  SELECT lender_code, account_number, MIN(line) AS first FROM import_staging"
                "  GROUP BY lender_code, account_number HAVING COUNT(*) > 1"
                ") d ON d.lender_code = s.lender_code AND d.account_number = s.account_number "
                "WHERE s.line > d.first "
                "UNION ALL "
                "SELECT s.line, :birth_date, 'date_of_birth', 'differs from another row with the same national_id' "
                "FROM import_staging s JOIN ("
                "  SELECT lender_code, national_id_hash, MIN(line) AS first FROM import_staging"
                "  GROUP BY lender_code, national_id_hash HAVING MIN(date_of_birth) <> MAX(date_of_birth)"
                ") p ON p.lender_code = s.lender_code AND p.national_id_hash = s.national_id_hash "
                "JOIN import_staging f ON f.line = p.first "
                "WHERE s.date_of_birth <> f.date_of_birth"
            ),
            {"duplicate": DUPLICATE_SEQ, "birth_date": BIRTH_DATE_SEQ},
        )

    # -- reading problems -----------------------------------------------------------------

    def problem_count(self) -> int:
        self._flush_problems()
        return self.connection.execute(text("SELECT COUNT(*) FROM import_problem")).scalar_one()

    def problems(self) -> Iterator[RowError]:
        """Every problem in file order (a row's own problems first), read in pages."""
        self._flush_problems()
        after = (-1, -1)
        while True:
            page = self.connection.execute(
                text(
                    "SELECT line, seq, field, message FROM import_problem "
                    "WHERE line > :line OR (line = :line AND seq > :seq) ORDER BY line, seq LIMIT 5000"
                ),
                {"line": after[0], "seq": after[1]},
            ).all()
            if not page:
                return
            for line, _seq, name, message in page:
                yield RowError(line, name, message)
            after = (page[-1][0], page[-1][1])

    # -- writing --------------------------------------------------------------------------

    def write(
        self,
        *,
        actor_type: str,
        actor_id: object = None,
        on_chunk: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Write the staged rows (which must have no problems). Returns the counts."""
        result = ImportResult()
        self._lenders()
        self._mark_stale(result)
        result.unchanged += self._skip_unchanged()
        if self.postgres:
            # Lock the accounts this import changes: the statements that compute their figures
            # then start after any payment that held one committed, and see it.
            self.connection.exec_driver_sql(
                "SELECT COUNT(*) FROM (SELECT a.id FROM import_staging s "
                "JOIN lender l ON l.code = s.lender_code "
                "JOIN account a ON a.lender_id = l.id AND a.account_number = s.account_number "
                "WHERE NOT s.skip ORDER BY a.id FOR UPDATE OF a) locked"
            )
        self._adjustments()
        bounds = self.connection.execute(text("SELECT MIN(line), MAX(line) FROM import_staging")).one()
        if bounds[0] is not None:
            for low in range(bounds[0], bounds[1] + 1, WRITE_CHUNK):
                high = low + WRITE_CHUNK - 1
                self._write_chunk(low, high, result, actor_type=actor_type, actor_id=actor_id)
                if on_chunk:
                    on_chunk(
                        self.connection.execute(
                            text("SELECT COUNT(*) FROM import_staging WHERE line BETWEEN :low AND :high"),
                            {"low": low, "high": high},
                        ).scalar_one()
                    )
        self._follow_plans(actor_type)
        details: dict[str, Any] = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
        if result.stale:
            details["stale"] = len(result.stale)
        audit.record("accounts.imported", actor_type=actor_type, actor_id=actor_id, **details)
        return result

    def _follow_plans(self, actor_type: str) -> None:
        """New figures for an account with an active plan never break the plan silently (the rule
        is plans.follow_core's). Only accounts this import wrote are looked at: their
        last_synced_at is this import's moment."""
        account_ids = (
            db.session.execute(
                select(RepaymentPlan.account_id)
                .join(Account, Account.id == RepaymentPlan.account_id)
                .where(RepaymentPlan.status == PlanStatus.ACTIVE, Account.last_synced_at == self.now)
            )
            .scalars()
            .all()
        )
        if account_ids:
            db.session.expire_all()  # the figures were written with SQL, past the ORM's objects
            plans.follow_core(list(account_ids), actor_type=actor_type)

    def close(self) -> None:
        schema = "pg_temp" if self.postgres else "temp"
        for table in (STAGING, PROBLEMS):
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{table.name}")

    def _lenders(self) -> dict[str, int]:
        """Lock each lender's imports (PostgreSQL), create the lenders not known yet."""
        named: dict[str, str] = dict(
            self.connection.execute(
                text(
                    "SELECT lender_code, lender_name FROM import_staging WHERE line IN "
                    "(SELECT MIN(line) FROM import_staging GROUP BY lender_code)"
                )
            ).all()
        )
        if self.postgres:
            for code in sorted(named):
                self.connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(code)})
        known = dict(db.session.execute(select(Lender.code, Lender.id).where(Lender.code.in_(named))).all())
        for code in sorted(set(named) - set(known)):
            lender = Lender(code=code, name=named[code])
            db.session.add(lender)
            db.session.flush()
            known[code] = lender.id
        return known

    def _mark_stale(self, result: ImportResult) -> None:
        stale = self.connection.execute(
            text(
                "SELECT s.line, a.figures_as_of FROM import_staging s "
                "JOIN lender l ON l.code = s.lender_code "
                "JOIN account a ON a.lender_id = l.id AND a.account_number = s.account_number "
                "WHERE a.figures_as_of > s.as_of ORDER BY s.line"
            ).columns(figures_as_of=UTCDateTime)
        ).all()
        for line, as_of in stale:
            result.stale.append(
                RowError(
                    line,
                    "as_of",
                    f"is older than the figures already imported (as of {as_of.isoformat()}); "
                    "this account was left unchanged",
                )
            )
        if stale:
            self.connection.execute(
                text("UPDATE import_staging SET skip = :skip WHERE line = :line"),
                [{"line": line, "skip": True} for line, _ in stale],
            )

    def _status(self, owed: str, old: str) -> str:
        """The status after an import: nothing owed is settled, anything owed on a settled
        account is overdue again, otherwise the account keeps its status (new: overdue)."""
        settled, overdue = AccountStatus.SETTLED.value, AccountStatus.OVERDUE.value
        return (
            f"CASE WHEN {owed} = 0 AND COALESCE({old}, '{overdue}') IN ('{overdue}', '{settled}') "
            f"THEN '{settled}' "
            f"WHEN {owed} > 0 AND {old} = '{settled}' THEN '{overdue}' "
            f"ELSE COALESCE({old}, '{overdue}') END"
        )

    def _skip_unchanged(self) -> int:
        """Leave alone the rows that change nothing (skip them): their account's stored figures
        are already the row's figures plus the portal's own adjustments since its as_of, and
        nothing else of the account or of its borrower differs. Returns how many.

        Neither locked nor written: the stored figures and the adjustments are read in one
        statement, so they agree; a payment committing later lowers the figures by what it adds
        to the adjustments, and the row still changes nothing. (Locking every account was most
        of what an unchanged re-import cost on PostgreSQL.)
        """
        oldest = self.connection.execute(
            text("SELECT MIN(as_of) AS as_of FROM import_staging WHERE NOT skip").columns(as_of=UTCDateTime)
        ).scalar_one()
        if oldest is None:
            return 0
        since = bindparam("since", oldest, type_=UTCDateTime)
        # Usually no adjustment is that recent: then none is joined. (One committing after this
        # look changes the stored figures, so its account is not skipped.)
        newer = self.connection.execute(
            text("SELECT 1 FROM account_adjustment WHERE recorded_at > :since LIMIT 1").bindparams(since)
        ).first()
        greatest = "GREATEST" if self.postgres else "MAX"
        sums = ", ".join(f"CAST(SUM(j.{p}) AS BIGINT) AS {p}" for p in PARTS)
        adjusted = {p: f"{greatest}(s.{p} + COALESCE(x.{p}, 0), 0)" if newer else f"s.{p}" for p in PARTS}
        adjustments = (
            "  LEFT JOIN ("
            f"    SELECT s.line, {sums} FROM account_adjustment j "
            "    JOIN account a ON a.id = j.account_id "
            "    JOIN lender l ON l.id = a.lender_id "
            "    JOIN import_staging s ON s.lender_code = l.code AND s.account_number = a.account_number "
            "    WHERE j.recorded_at > :since AND j.recorded_at > s.as_of GROUP BY s.line"
            "  ) x ON x.line = s.line "
            if newer
            else ""
        )
        owed = " + ".join(f"({figure})" for figure in adjusted.values())
        same_figures = " AND ".join(self._same(f"a.{p}", figure) for p, figure in adjusted.items())
        same_account = " AND ".join(
            [
                "a.borrower_id = b.id",
                *(self._same(f"a.{c}", f"s.{c}") for c in ("product", "currency", "due_date", "days_past_due")),
                same_figures,
                self._same("a.overdue_minor", owed),
                self._same("a.status", self._status(owed, "a.status")),
            ]
        )
        person_differs = " OR ".join(
            self._distinct(f"b.{column}", f"o.{staged}") for column, staged in _BORROWER_COMPARED
        )
        skipped = self.connection.execute(
            text(
                "UPDATE import_staging SET skip = :skip WHERE line IN ("
                "  SELECT s.line FROM import_staging s "
                "  JOIN lender l ON l.code = s.lender_code "
                "  JOIN borrower b ON b.lender_id = l.id AND b.national_id_hash = s.national_id_hash "
                "  JOIN account a ON a.lender_id = l.id AND a.account_number = s.account_number "
                f"{adjustments}"
                # The people some row would change (a set, hash-joined: the staging table has no
                # index on PostgreSQL, so a correlated NOT EXISTS would scan it once per row).
                "  LEFT JOIN ("
                "    SELECT DISTINCT o.lender_code, o.national_id_hash FROM import_staging o "
                "    JOIN lender l ON l.code = o.lender_code "
                "    JOIN borrower b ON b.lender_id = l.id AND b.national_id_hash = o.national_id_hash "
                f"    WHERE NOT o.skip AND ({person_differs})"
                "  ) changing ON changing.lender_code = s.lender_code "
                "  AND changing.national_id_hash = s.national_id_hash "
                f"  WHERE NOT s.skip AND changing.lender_code IS NULL AND {same_account}"
                ")"
            ).bindparams(*([since] if newer else [])),
            {"skip": True},
        )
        return updated(skipped)

    def _same(self, left: str, right: str) -> str:
        return f"{left} IS NOT DISTINCT FROM {right}" if self.postgres else f"{left} IS {right}"

    def _adjustments(self) -> None:
        """Sum, per staged row, what the portal changed after the row's as_of (usually nothing:
        one indexed look at the newest adjustments)."""
        oldest = self.connection.execute(
            text("SELECT MIN(as_of) AS as_of FROM import_staging").columns(as_of=UTCDateTime)
        ).scalar_one()
        if oldest is None:
            return
        since = bindparam("since", oldest, type_=UTCDateTime)
        newer = self.connection.execute(
            text("SELECT 1 FROM account_adjustment WHERE recorded_at > :since LIMIT 1").bindparams(since)
        ).first()
        if newer is None:
            return
        sums = ", ".join(f"CAST(SUM(j.{p}) AS BIGINT) AS {p}" for p in PARTS)
        assign = ", ".join(f"adj_{p} = x.{p}" for p in PARTS)
        self.connection.execute(
            text(
                f"UPDATE import_staging SET {assign} FROM ("
                f"  SELECT s.line, {sums} FROM account_adjustment j "
                "  JOIN account a ON a.id = j.account_id "
                "  JOIN lender l ON l.id = a.lender_id "
                "  JOIN import_staging s ON s.lender_code = l.code AND s.account_number = a.account_number "
                "  WHERE j.recorded_at > :since AND j.recorded_at > s.as_of GROUP BY s.line"
                ") x WHERE x.line = import_staging.line"
            ).bindparams(since)
        )

    def _distinct(self, left: str, right: str) -> str:
        return f"{left} IS DISTINCT FROM {right}" if self.postgres else f"{left} IS NOT {right}"

    def _write_chunk(self, low: int, high: int, result: ImportResult, *, actor_type: str, actor_id: object) -> None:
        window = {"low": low, "high": high}
        rows = self.connection.execute(
            text("SELECT COUNT(*) FROM import_staging WHERE line BETWEEN :low AND :high AND NOT skip"), window
        ).scalar_one()
        if not rows:
            return
        now = bindparam("now", self.now, type_=UTCDateTime)
        # One row per person: the last one in the chunk says what the person's details are now.
        people = (
            "s.line IN (SELECT MAX(line) FROM import_staging WHERE line BETWEEN :low AND :high AND NOT skip "
            "GROUP BY lender_code, national_id_hash)"
        )
        changed_people = self.connection.execute(
            text(
                "SELECT b.id, "
                + ", ".join(f"b.{column} <> s.{staged}" for column, staged in _BORROWER_COMPARED)
                + " FROM import_staging s JOIN lender l ON l.code = s.lender_code "
                "JOIN borrower b ON b.lender_id = l.id AND b.national_id_hash = s.national_id_hash "
                f"WHERE {people} AND ("
                + " OR ".join(f"b.{column} <> s.{staged}" for column, staged in _BORROWER_COMPARED)
                + ")"
            ),
            window,
        ).all()
        set_people = ", ".join(f"{column} = excluded.{column}" for column, _ in _BORROWER_COMPARED)
        differs = " OR ".join(
            self._distinct(f"borrower.{column}", f"excluded.{column}") for column, _ in _BORROWER_COMPARED
        )
        self.connection.execute(
            text(
                "INSERT INTO borrower (lender_id, national_id_hash, national_id_last4, name, phone_e164, "
                "date_of_birth, locale, timezone, created_at, updated_at) "
                "SELECT l.id, s.national_id_hash, s.national_id_last4, s.borrower_name, s.phone_e164, "
                "s.date_of_birth, s.locale, s.timezone, :now, :now "
                "FROM import_staging s JOIN lender l ON l.code = s.lender_code "
                f"WHERE {people} "
                "ON CONFLICT (lender_id, national_id_hash) DO UPDATE SET "
                f"{set_people}, updated_at = excluded.updated_at WHERE {differs}"
            ).bindparams(now),
            window,
        )

        greatest = "GREATEST" if self.postgres else "MAX"
        parts = ", ".join(f"{greatest}(s.{p} + s.adj_{p}, 0) AS {p}" for p in PARTS)
        source = (
            "SELECT l.id AS lender_id, b.id AS borrower_id, s.account_number, s.product, s.currency, "
            f"{parts}, s.due_date, s.days_past_due, s.as_of, a.id AS account_id, a.status AS old_status "
            "FROM import_staging s "
            "JOIN lender l ON l.code = s.lender_code "
            "JOIN borrower b ON b.lender_id = l.id AND b.national_id_hash = s.national_id_hash "
            "LEFT JOIN account a ON a.lender_id = l.id AND a.account_number = s.account_number "
            "WHERE s.line BETWEEN :low AND :high AND NOT s.skip"
        )
        owed = " + ".join(f"t.{p}" for p in PARTS)
        settled = AccountStatus.SETTLED.value
        status = self._status(owed, "t.old_status")
        figures = f"SELECT t.*, {owed} AS overdue_minor, {status} AS status FROM ({source}) t"
        # Accounts this chunk brings to nothing owed (for account.settled): rare, so looked for
        # only when a staged row of the chunk could owe nothing.
        owed_staged = " + ".join(f"{greatest}({p} + adj_{p}, 0)" for p in PARTS)
        may_settle = self.connection.execute(
            text(
                "SELECT 1 FROM import_staging WHERE line BETWEEN :low AND :high AND NOT skip "
                f"AND {owed_staged} = 0 LIMIT 1"
            ),
            window,
        ).first()
        settling = []
        if may_settle:
            settling = [
                row[0]
                for row in self.connection.execute(
                    text(
                        f"SELECT f.account_id FROM ({figures}) f WHERE f.account_id IS NOT NULL "
                        f"AND f.status = '{settled}' AND f.old_status <> '{settled}'"
                    ),
                    window,
                )
            ]

        columns = (
            "lender_id, borrower_id, account_number, product, currency, "
            + ", ".join(PARTS)
            + ", overdue_minor, reserved_minor, due_date, days_past_due, status, last_synced_at, figures_as_of"
        )
        selected = (
            "f.lender_id, f.borrower_id, f.account_number, f.product, f.currency, "
            + ", ".join(f"f.{p}" for p in PARTS)
            + ", f.overdue_minor, 0, f.due_date, f.days_past_due, f.status, :now, f.as_of"
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in (*_ACCOUNT_COMPARED, "last_synced_at", "figures_as_of"))
        account_differs = " OR ".join(self._distinct(f"account.{c}", f"excluded.{c}") for c in _ACCOUNT_COMPARED)
        if self.postgres:
            created_flag = "(xmax = 0)"
            before: dict = {}
        else:
            created_flag = "(id > :max_id)"
            before = {"max_id": self.connection.execute(text("SELECT COALESCE(MAX(id), 0) FROM account")).scalar_one()}
        upsert = (
            f"INSERT INTO account ({columns}) SELECT {selected} FROM ({figures}) f WHERE 1 = 1 "
            f"ON CONFLICT (lender_id, account_number) DO UPDATE SET {updates} "
            f"WHERE {account_differs} OR EXISTS (SELECT 1 FROM borrower p "
            "WHERE p.id = excluded.borrower_id AND p.updated_at = :now) "
            f"RETURNING id, {created_flag} AS created, account_number, overdue_minor, status"
        )
        if self.postgres:
            # The audit records of the changes in the same statement (a data-modifying CTE): the
            # changed rows never travel to Python.
            action = "CASE WHEN created THEN 'account.created' ELSE 'account.updated' END"
            details = "json_build_object('account_number', account_number, 'overdue', overdue_minor, 'status', status)"
            counts = self.connection.execute(
                text(
                    f"WITH written AS ({upsert}), audited AS ("
                    + audit.insert_from_select(
                        f"SELECT :now, :actor_type, :actor_id, {action}, 'account', CAST(id AS TEXT), NULL, {details} "
                        "FROM written"
                    )
                    + ") SELECT COUNT(*) FILTER (WHERE created), COUNT(*) FILTER (WHERE NOT created) FROM written"
                ).bindparams(now),
                {**window, "actor_type": actor_type, "actor_id": None if actor_id is None else str(actor_id)},
            ).one()
            result.created += counts[0]
            result.updated += counts[1]
            result.unchanged += rows - counts[0] - counts[1]
        else:
            written = self.connection.execute(text(upsert).bindparams(now), {**window, **before}).all()
            created = [(row[0], row) for row in written if row[1]]
            updated = [(row[0], row) for row in written if not row[1]]
            result.created += len(created)
            result.updated += len(updated)
            result.unchanged += rows - len(written)
            for action_name, changes in (("account.created", created), ("account.updated", updated)):
                audit.record_many(
                    action_name,
                    actor_type=actor_type,
                    actor_id=actor_id,
                    subject_type="account",
                    items=(
                        (account_id, {"account_number": row[2], "overdue": row[3], "status": row[4]})
                        for account_id, row in changes
                    ),
                )
        audit.record_many(
            "borrower.updated",
            actor_type=actor_type,
            actor_id=actor_id,
            subject_type="borrower",
            items=(
                (
                    row[0],
                    {"fields": [name for (name, _), flag in zip(_BORROWER_COMPARED, row[1:], strict=True) if flag]},
                )
                for row in changed_people
            ),
        )
        if settling:
            # Rare (an import that brings an account to nothing owed): the ORM and the one emit().
            for account in db.session.execute(
                select(Account).where(Account.id.in_(settling)).execution_options(populate_existing=True)
            ).scalars():
                emit("account.settled", lender_id=account.lender_id, account=account)
