"""an account's lender is its borrower's lender

Revision ID: 7d3c0b9a51e2
Revises: 55ae01de2c74
Create Date: 2026-11-28 22:20:00

Pages read an account's lender from its borrower (portal/access/snapshot.py); the database now
guarantees that they are the same. The loan-core import has always kept them equal.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "7d3c0b9a51e2"
down_revision = "55ae01de2c74"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("borrower", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_borrower_id_lender_id"), ["id", "lender_id"])

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_account_borrower_of_lender", "borrower", ["borrower_id", "lender_id"], ["id", "lender_id"]
        )


def downgrade():
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_constraint("fk_account_borrower_of_lender", type_="foreignkey")

    with op.batch_alter_table("borrower", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_borrower_id_lender_id"), type_="unique")
