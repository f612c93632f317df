"""Scale (issue 14): per-account rollups of message counts, kept by triggers,
and the indexes behind every list filter the dashboard and the v2 API offer.

Revision ID: 0008
Revises: 0007
"""

from typing import Any

import sqlalchemy as sa  # noqa: F401  (used by the sections below as they fill in)
from alembic import op  # noqa: F401

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rollups_up()
    _list_indexes_up()


def downgrade() -> None:
    _list_indexes_down()
    _rollups_down()


# --- Rollups ------------------------------------------------------------------
# (message counts per account, hour and state; campaign counts per state)


def _rollups_up() -> None:
    pass


def _rollups_down() -> None:
    pass


# --- List indexes -------------------------------------------------------------
# (one per filter the dashboard and v2 lists offer, designed with EXPLAIN)


# Newest-first keyset lists order by (time, id): indexes that end in `id` let
# PostgreSQL read a page straight off the index, where (account, time) alone
# made it sort each time group. Each replaced index is named anew (_id) so
# that a downgrade can put the old one back.
_REPLACED = (  # (table, old name, old columns, new name, new columns)
    (
        "messages",
        "ix_messages_account_created",
        ["account_id", "created_at"],
        "ix_messages_account_created_id",
        ["account_id", "created_at", "id"],
    ),
    (
        "messages",
        "ix_messages_account_phone",
        ["account_id", "phone_number", "created_at"],
        "ix_messages_account_phone_id",
        ["account_id", "phone_number", "created_at", "id"],
    ),
    (
        "incoming_sms",
        "ix_incoming_sms_account_received",
        ["account_id", "received_at"],
        "ix_incoming_sms_account_received_id",
        ["account_id", "received_at", "id"],
    ),
    (
        "incoming_sms",
        "ix_incoming_sms_account_from",
        ["account_id", "from_number", "received_at"],
        "ix_incoming_sms_account_from_id",
        ["account_id", "from_number", "received_at", "id"],
    ),
    (
        "calls",
        "ix_calls_account_time",
        ["account_id", "call_time"],
        "ix_calls_account_time_id",
        ["account_id", "call_time", "id"],
    ),
    (
        "calls",
        "ix_calls_account_phone",
        ["account_id", "phone_number", "call_time"],
        "ix_calls_account_phone_id",
        ["account_id", "phone_number", "call_time", "id"],
    ),
    (
        "qualifications",
        "ix_qualifications_account_created",
        ["account_id", "created_at"],
        "ix_qualifications_account_created_id",
        ["account_id", "created_at", "id"],
    ),
    (
        "campaigns",
        "ix_campaigns_account_created",
        ["account_id", "created_at"],
        "ix_campaigns_account_created_id",
        ["account_id", "created_at", "id"],
    ),
    (
        "webhooks",
        "ix_webhooks_account",
        ["account_id", "created_at"],
        "ix_webhooks_account_created_id",
        ["account_id", "created_at", "id"],
    ),
)
_ADDED: tuple[
    tuple[str, str, list[Any], str | None], ...
] = (  # (table, name, columns, partial condition)
    ("messages", "ix_messages_account_state", ["account_id", "state", "created_at", "id"], None),
    (  # the dispatcher's claim: an account's queue in sending order
        "messages",
        "ix_messages_queue",
        ["account_id", sa.text("priority DESC"), "send_at", "id"],
        "state = 'queued'",
    ),
    (
        "messages",
        "ix_messages_account_links",
        ["account_id", "created_at", "id"],
        "short_code IS NOT NULL",
    ),
    ("contacts", "ix_contacts_account_names", ["account_id", "lastname", "firstname", "id"], None),
    ("webhooks", "ix_webhooks_account_state", ["account_id", "state", "created_at", "id"], None),
    ("calls", "ix_calls_account_kind", ["account_id", "kind", "call_time", "id"], None),
    (
        "list_members",
        "ix_list_members_list_added",
        ["list_id", "added_at", "contact_id"],
        None,
    ),
    (
        "qualifications",
        "ix_qualifications_account_phone",
        ["account_id", "from_number", "created_at", "id"],
        None,
    ),
)


def _list_indexes_up() -> None:
    # Plain op.create_index, not batch_alter_table: SQLite builds an index in
    # place, and a batch would copy whole tables of a million rows.
    for table, old, _, new, columns in _REPLACED:
        op.create_index(new, table, columns)
        op.drop_index(old, table_name=table)
    for table, name, columns, where in _ADDED:
        condition = None if where is None else sa.text(where)
        op.create_index(name, table, columns, sqlite_where=condition, postgresql_where=condition)


def _list_indexes_down() -> None:
    for table, name, _, _ in reversed(_ADDED):
        op.drop_index(name, table_name=table)
    for table, old, columns, new, _ in reversed(_REPLACED):
        op.create_index(old, table, columns)
        op.drop_index(new, table_name=table)
