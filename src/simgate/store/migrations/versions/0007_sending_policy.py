"""Sending policy: opt-out list and its audit, policy refusals, account
settings (windows, caps, validity, replies), send counts per hour, automatic
replies, message validity / SIM / window flag, devices' declared SIMs.

Messages and devices only gain nullable or defaulted columns (ALTER TABLE ADD
COLUMN, no copy of the table on SQLite).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_policies",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("optout_enabled", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("optout_keywords", sa.Text(), nullable=True),
        sa.Column("optin_keywords", sa.Text(), nullable=True),
        sa.Column("optout_reply", sa.Text(), server_default="", nullable=False),
        sa.Column("optin_reply", sa.Text(), server_default="", nullable=False),
        sa.Column("windows", sa.Text(), server_default="[]", nullable=False),
        sa.Column("skip_holidays", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("window_for_api", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("window_for_campaigns", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("default_validity", sa.Integer(), nullable=True),
        sa.Column("hourly_cap", sa.Integer(), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("missed_call_reply", sa.Text(), server_default="", nullable=False),
        sa.Column("missed_call_period", sa.Integer(), server_default="86400", nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_policies_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_policies")),
    )
    op.create_table(
        "auto_replies",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_auto_replies_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "kind", "phone_number", name=op.f("pk_auto_replies")),
    )
    op.create_table(
        "policy_refusals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("id_sms_api", sa.String(length=64), nullable=False),
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_policy_refusals_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_refusals")),
    )
    with op.batch_alter_table("policy_refusals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policy_refusals_account_created", ["account_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_policy_refusals_account_sms", ["account_id", "id_sms_api"], unique=False
        )
        batch_op.create_index("ix_policy_refusals_campaign", ["campaign_id"], unique=False)

    op.create_table(
        "send_counts",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_send_counts_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "hour", name=op.f("pk_send_counts")),
    )
    op.create_table(
        "suppression_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_suppression_events_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_events")),
    )
    with op.batch_alter_table("suppression_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suppression_events_account_at", ["account_id", "at"], unique=False
        )
        batch_op.create_index(
            "ix_suppression_events_account_phone",
            ["account_id", "phone_number", "at"],
            unique=False,
        )

    op.create_table(
        "suppressions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_suppressions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", "phone_number", name=op.f("pk_suppressions")),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suppressions_account_created", ["account_id", "created_at"], unique=False
        )

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sims", sa.Text(), nullable=True))

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("valid_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("sim", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("windowed", sa.Boolean(), server_default="0", nullable=False))
        batch_op.create_index("ix_messages_expiring", ["state", "valid_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_expiring")
        batch_op.drop_column("windowed")
        batch_op.drop_column("sim")
        batch_op.drop_column("valid_until")

    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("sims")

    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index("ix_suppressions_account_created")

    op.drop_table("suppressions")
    with op.batch_alter_table("suppression_events", schema=None) as batch_op:
        batch_op.drop_index("ix_suppression_events_account_phone")
        batch_op.drop_index("ix_suppression_events_account_at")

    op.drop_table("suppression_events")
    op.drop_table("send_counts")
    with op.batch_alter_table("policy_refusals", schema=None) as batch_op:
        batch_op.drop_index("ix_policy_refusals_campaign")
        batch_op.drop_index("ix_policy_refusals_account_sms")
        batch_op.drop_index("ix_policy_refusals_account_created")

    op.drop_table("policy_refusals")
    op.drop_table("auto_replies")
    op.drop_table("account_policies")
