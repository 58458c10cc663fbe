"""collection contacts reported by lenders, with their evaluation against the contact rules

Revision ID: 17c0a7c75e01
Revises: 0014c0a1b2d3
Create Date: 2026-11-29 22:25:00
"""

import sqlalchemy as sa
from alembic import op

import portal.models.types

# revision identifiers, used by Alembic.
revision = "17c0a7c75e01"
down_revision = "0014c0a1b2d3"
branch_labels = None
depends_on = None

UTC = portal.models.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "collection_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", UTC, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("phone_number", sa.String(length=20), nullable=True),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("breaches", sa.JSON(), nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("evaluated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_collection_contact_account_id_account")),
        sa.ForeignKeyConstraint(["lender_id"], ["lender.id"], name=op.f("fk_collection_contact_lender_id_lender")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_contact")),
        sa.UniqueConstraint("lender_id", "contact_id", name=op.f("uq_collection_contact_lender_id_contact_id")),
    )
    op.create_index(
        "ix_collection_contact_account_time", "collection_contact", ["account_id", "occurred_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_collection_contact_account_time", table_name="collection_contact")
    op.drop_table("collection_contact")
