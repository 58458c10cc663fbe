"""payments: when Stripe was last asked about a pending payment

Revision ID: 3f9a6c2d7e41
Revises: d60fcda96d01
Create Date: 2026-11-30 10:00:00

Viewing a pending payment asks Stripe at most once per interval, whoever views it; the time of
the last question is the claim (portal/payments/service.py).
"""

import sqlalchemy as sa
from alembic import op

import portal.models.types

# revision identifiers, used by Alembic.
revision = "3f9a6c2d7e41"
down_revision = "d60fcda96d01"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_checked_at", portal.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_column("last_checked_at")
