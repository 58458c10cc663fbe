"""The schema changes only through Alembic, and the models never drift from the migrations."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_models_and_migrations_do_not_drift(db):
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_table_comes_from_a_migration(db):
    from sqlalchemy import inspect

    tables = set(inspect(db.session.connection()).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} | {"alembic_version"} == tables
