"""repayment plans: versioned plan policies, plans, instalments, payments towards a plan

Revision ID: 249b8c60d04a
Revises: 0010a7c3e5f1
Create Date: 2026-11-29 21:04:32.922925

"""

import sqlalchemy as sa
from alembic import op

import portal.models.types

# revision identifiers, used by Alembic.
revision = "249b8c60d04a"
down_revision = "0010a7c3e5f1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lender_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lender_id"], ["lender.id"], name=op.f("fk_plan_policy_lender_id_lender")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_policy")),
        sa.UniqueConstraint("lender_id", "version", name=op.f("uq_plan_policy_lender_id_version")),
    )
    op.create_table(
        "repayment_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("frequency", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("waived", sa.JSON(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("hardship_reason", sa.String(length=32), nullable=True),
        sa.Column("hardship_note", sa.Text(), nullable=True),
        sa.Column("affordability", sa.JSON(), nullable=True),
        sa.Column("review_reasons", sa.JSON(), nullable=False),
        sa.Column("rejection_reasons", sa.JSON(), nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("proposed_by", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("counter_of_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("proposed_at", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_due_at", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_repayment_plan_account_id_account")),
        sa.ForeignKeyConstraint(
            ["counter_of_id"], ["repayment_plan.id"], name=op.f("fk_repayment_plan_counter_of_id_repayment_plan")
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["plan_policy.id"], name=op.f("fk_repayment_plan_policy_id_plan_policy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repayment_plan")),
        sa.UniqueConstraint("public_id", name=op.f("uq_repayment_plan_public_id")),
    )
    with op.batch_alter_table("repayment_plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_repayment_plan_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_repayment_plan_status"), ["status"], unique=False)

    op.create_table(
        "plan_instalment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("reminded_at", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_notified_at", portal.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["repayment_plan.id"], name=op.f("fk_plan_instalment_plan_id_repayment_plan")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_instalment")),
        sa.UniqueConstraint("plan_id", "number", name=op.f("uq_plan_instalment_plan_id_number")),
    )
    op.create_table(
        "plan_payment",
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("instalment_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], name=op.f("fk_plan_payment_payment_id_payment")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["repayment_plan.id"], name=op.f("fk_plan_payment_plan_id_repayment_plan")
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_plan_payment")),
    )
    with op.batch_alter_table("plan_payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_payment_plan_id"), ["plan_id"], unique=False)


def downgrade():
    with op.batch_alter_table("plan_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_payment_plan_id"))

    op.drop_table("plan_payment")
    op.drop_table("plan_instalment")
    with op.batch_alter_table("repayment_plan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repayment_plan_status"))
        batch_op.drop_index(batch_op.f("ix_repayment_plan_account_id"))

    op.drop_table("repayment_plan")
    op.drop_table("plan_policy")
