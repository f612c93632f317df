"""indexes for pruning finished rows

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The pruner (store/retention.py) deletes the oldest finished rows in small
    # batches; without these each batch would scan the whole table.
    op.create_index("ix_webhooks_finished", "webhooks", ["state", "done_at"])
    op.create_index("ix_message_events_at", "message_events", ["at"])
    op.create_index("ix_device_refs_created_at", "device_refs", ["created_at"])
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_index("ix_device_refs_created_at", table_name="device_refs")
    op.drop_index("ix_message_events_at", table_name="message_events")
    op.drop_index("ix_webhooks_finished", table_name="webhooks")
