"""imports: the as_of of an account's figures, and the ledger of the portal's own adjustments

Revision ID: 7b3e5c1a9d20
Revises: 0013b5d2e8a4
Create Date: 2026-11-29 21:20:00

An import carries the loan core's figures as of a moment; payments and refunds the portal
recorded after it are applied again on top (portal/imports/upsert.py).
"""

import sqlalchemy as sa
from alembic import op

import portal.models.types

# revision identifiers, used by Alembic.
revision = "7b3e5c1a9d20"
down_revision = "0013b5d2e8a4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("figures_as_of", portal.models.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "account_adjustment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("penalty_interest_minor", sa.BigInteger(), nullable=False),
        sa.Column("fees_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_account_adjustment_account_id_account")),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], name=op.f("fk_account_adjustment_payment_id_payment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_adjustment")),
    )
    with op.batch_alter_table("account_adjustment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_adjustment_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_adjustment_recorded_at"), ["recorded_at"], unique=False)


def downgrade():
    with op.batch_alter_table("account_adjustment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_adjustment_recorded_at"))
        batch_op.drop_index(batch_op.f("ix_account_adjustment_account_id"))
    op.drop_table("account_adjustment")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_column("figures_as_of")
