"""outbox feed in commit-safe order; idempotency records expire

Revision ID: 0010a7c3e5f1
Revises: 9b1e4c7a2d55
Create Date: 2026-11-29 21:10:00

The pull feed orders events by the writing transaction's id, then by row id, and hands out
only events older than every transaction still in flight (portal/outbox/events.py). Existing
events get 0, which puts them first, in their old order. Replay records are pruned by age.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010a7c3e5f1"
down_revision = "9b1e4c7a2d55"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tx_id", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.create_index("ix_outbox_event_feed", ["lender_id", "tx_id", "id"], unique=False)
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.alter_column("tx_id", server_default=None)
    with op.batch_alter_table("idempotent_request", schema=None) as batch_op:
        batch_op.create_index("ix_idempotent_request_created_at", ["created_at"], unique=False)
    # Replay records written before this revision hold responses in clear (reminder-link
    # codes among them) under the raw key: they cannot be replayed any more, so they go.
    op.execute("DELETE FROM idempotent_request")


def downgrade():
    with op.batch_alter_table("idempotent_request", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotent_request_created_at")
    with op.batch_alter_table("outbox_event", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_event_feed")
        batch_op.drop_column("tx_id")
