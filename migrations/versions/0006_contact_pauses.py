"""contact pauses: collection contact on an account stops while a dispute or urgent complaint is open

Revision ID: b2653e0f8c7f
Revises: 7d3c0b9a51e2
Create Date: 2026-11-29 18:02:44

StrEnum columns are plain VARCHARs (no database enum type), so adding a member needs no migration.
"""

import sqlalchemy as sa
from alembic import op

import portal.models.types

# revision identifiers, used by Alembic.
revision = "b2653e0f8c7f"
down_revision = "7d3c0b9a51e2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "contact_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=40), nullable=False),
        sa.Column("started_at", portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_contact_pause_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_pause")),
    )
    with op.batch_alter_table("contact_pause", schema=None) as batch_op:
        batch_op.create_index("ix_contact_pause_account_active", ["account_id", "ended_at"], unique=False)


def downgrade():
    with op.batch_alter_table("contact_pause", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_pause_account_active")

    op.drop_table("contact_pause")
