"""access: verification counters and locks in the database

Revision ID: 9b1e4c7a2d55
Revises: 3f9a6c2d7e41
Create Date: 2026-11-29 21:10:00

Failed verifications per account, per person and per client address, with the lock they lead
to, kept where every worker and machine sees them (portal/access/throttle.py).
"""

import sqlalchemy as sa
from alembic import op

import portal.models.types

# revision identifiers, used by Alembic.
revision = "9b1e4c7a2d55"
down_revision = "3f9a6c2d7e41"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "verification_counter",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_verification_counter")),
    )
    with op.batch_alter_table("verification_counter", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verification_counter_window_ends_at"), ["window_ends_at"], unique=False)


def downgrade():
    with op.batch_alter_table("verification_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_counter_window_ends_at"))
    op.drop_table("verification_counter")
