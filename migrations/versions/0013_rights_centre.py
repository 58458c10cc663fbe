"""rights centre: disputes, document requests, contact preferences

Revision ID: 0013b5d2e8a4
Revises: 249b8c60d04a
Create Date: 2026-11-29 21:45:00

StrEnum columns are plain VARCHARs (no database enum type), so adding a member needs no migration.
"""

import sqlalchemy as sa
from alembic import op

import portal.models.types

# revision identifiers, used by Alembic.
revision = "0013b5d2e8a4"
down_revision = "249b8c60d04a"
branch_labels = None
depends_on = None

UTC = portal.models.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("account_status_before", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("opened_at", UTC, nullable=True),
        sa.Column("answer_due_at", UTC, nullable=True),
        sa.Column("answered_at", UTC, nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_dispute_account_id_account")),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrower.id"], name=op.f("fk_dispute_borrower_id_borrower")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
        sa.UniqueConstraint("reference", name=op.f("uq_dispute_reference")),
    )
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_borrower_id"), ["borrower_id"], unique=False)

    op.create_table(
        "document_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_document_request_account_id_account")),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrower.id"], name=op.f("fk_document_request_borrower_id_borrower")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_request")),
        sa.UniqueConstraint("reference", name=op.f("uq_document_request_reference")),
    )
    with op.batch_alter_table("document_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_request_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_request_borrower_id"), ["borrower_id"], unique=False)

    op.create_table(
        "contact_preference",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.String(length=64), nullable=False),
        sa.Column("hours_from", sa.String(length=5), nullable=False),
        sa.Column("hours_until", sa.String(length=5), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("only_me", sa.Boolean(), nullable=False),
        sa.Column("stop_contact", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrower.id"], name=op.f("fk_contact_preference_borrower_id_borrower")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_preference")),
        sa.UniqueConstraint("borrower_id", name=op.f("uq_contact_preference_borrower_id")),
    )


def downgrade():
    op.drop_table("contact_preference")
    with op.batch_alter_table("document_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_request_borrower_id"))
        batch_op.drop_index(batch_op.f("ix_document_request_account_id"))
    op.drop_table("document_request")
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_borrower_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_account_id"))
    op.drop_table("dispute")
