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
    _activity_rollups_up()
    _page_indexes_up()


def downgrade() -> None:
    _page_indexes_down()
    _activity_rollups_down()
    _list_indexes_down()
    _rollups_down()


# --- Rollups ------------------------------------------------------------------
# (message counts per account, hour and state; campaign counts per state)


# Kept by triggers on `messages`, so that every path that inserts, changes or
# deletes a message counts without knowing it (docs/dashboard.md, "How the
# counts are kept"):
# - SQLite: row triggers add to the counts in place (one writer, no contention);
# - PostgreSQL: statement triggers append one aggregated delta per key the
#   statement changed (transition tables), so that concurrent transactions
#   never wait on a shared counter row; store/rollups.compact folds them in.
# The hour must compare like the datetimes SQLAlchemy binds: on SQLite the text
# 'YYYY-MM-DD HH:MM:SS.ffffff', hence the format below.

_SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {row}.created_at)"
_REACHED = (
    "CASE WHEN {row}.delivered_at IS NOT NULL THEN 2"
    " WHEN {row}.sent_at IS NOT NULL THEN 1 ELSE 0 END"
)


def _sqlite_add(row: str, n: str) -> str:
    """The statements that add `n` to the counts of the keys of `row` (NEW/OLD)."""
    hour, reached = _SQLITE_HOUR.format(row=row), _REACHED.format(row=row)
    return f"""
    INSERT INTO message_counts (account_id, hour, state, reached, n)
    VALUES ({row}.account_id, {hour}, {row}.state, {reached}, {n})
    ON CONFLICT (account_id, hour, state, reached) DO UPDATE SET n = n + excluded.n;
    INSERT INTO campaign_counts (campaign_id, state, n)
    SELECT {row}.campaign_id, {row}.state, {n} WHERE {row}.campaign_id IS NOT NULL
    ON CONFLICT (campaign_id, state) DO UPDATE SET n = n + excluded.n;"""


_SQLITE_KEY_CHANGED = " OR ".join(
    f"OLD.{column} IS NOT NEW.{column}"
    for column in ("account_id", "created_at", "state", "campaign_id")
) + (
    " OR (OLD.sent_at IS NULL) IS NOT (NEW.sent_at IS NULL)"
    " OR (OLD.delivered_at IS NULL) IS NOT (NEW.delivered_at IS NULL)"
)

_SQLITE_TRIGGERS = {
    "messages_rollup_insert": f"AFTER INSERT ON messages BEGIN {_sqlite_add('NEW', '1')} END",
    "messages_rollup_update": (
        "AFTER UPDATE OF account_id, created_at, state, sent_at, delivered_at, campaign_id"
        f" ON messages WHEN {_SQLITE_KEY_CHANGED}"
        f" BEGIN {_sqlite_add('OLD', '-1')} {_sqlite_add('NEW', '1')} END"
    ),
    "messages_rollup_delete": f"AFTER DELETE ON messages BEGIN {_sqlite_add('OLD', '-1')} END",
}

_PG_KEYS = (
    "m.account_id, date_trunc('hour', m.created_at) AS hour, m.state, "
    + _REACHED.format(row="m")
    + " AS reached"
)


def _pg_deltas(signed_rows: str) -> str:
    """Append the net change per key of `signed_rows` (columns of messages plus n)."""
    return f"""
    INSERT INTO message_count_deltas (account_id, hour, state, reached, n)
    SELECT account_id, hour, state, reached, sum(n) FROM (
        SELECT {_PG_KEYS}, n FROM ({signed_rows}) AS m
    ) AS k GROUP BY account_id, hour, state, reached HAVING sum(n) <> 0;
    INSERT INTO campaign_count_deltas (campaign_id, state, n)
    SELECT campaign_id, state, sum(n) FROM ({signed_rows}) AS m
    WHERE campaign_id IS NOT NULL
    GROUP BY campaign_id, state HAVING sum(n) <> 0;"""


_PG_ROWS = {
    "insert": ("new_rows", "SELECT *, 1 AS n FROM new_rows"),
    "update": (
        "old_rows",
        "SELECT *, -1 AS n FROM old_rows UNION ALL SELECT *, 1 AS n FROM new_rows",
    ),
    "delete": ("old_rows", "SELECT *, -1 AS n FROM old_rows"),
}


def _pg_referencing(event: str) -> str:
    return {
        "insert": "REFERENCING NEW TABLE AS new_rows",
        "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "REFERENCING OLD TABLE AS old_rows",
    }[event]


def _create_pg_trigger(bind: Any, table: str, event: str, body: str) -> None:
    """A statement trigger `<table>_rollup_<event>` running `body` (SQL over
    its transition tables) through a function of its own."""
    bind.exec_driver_sql(
        f"CREATE FUNCTION simgate_{table}_rollup_{event}() RETURNS trigger"
        f" LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
    )
    bind.exec_driver_sql(
        f"CREATE TRIGGER {table}_rollup_{event} AFTER {event.upper()} ON {table}"
        f" {_pg_referencing(event)} FOR EACH STATEMENT"
        f" EXECUTE FUNCTION simgate_{table}_rollup_{event}()"
    )


def _drop_triggers(bind: Any, table: str, events: tuple[str, ...]) -> None:
    """Drop the triggers `<table>_rollup_<event>` (and their functions on PostgreSQL)."""
    postgres = bind.dialect.name == "postgresql"
    for event in events:
        on = f" ON {table}" if postgres else ""
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_rollup_{event}{on}")
        if postgres:
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS simgate_{table}_rollup_{event}()")


# Clicks by people on a campaign's tracked links, counted beside its states
# under the key CLICKS (not a message state) by triggers on link_clicks: the
# campaigns list shows them for every campaign of a page.
CLICKS = "+clicks"

_SQLITE_CLICK_TRIGGERS = {
    f"link_clicks_rollup_{event}": (
        f"AFTER {event.upper()} ON link_clicks WHEN NOT {row}.is_preview BEGIN"
        " INSERT INTO campaign_counts (campaign_id, state, n)"
        f" SELECT campaign_id, '{CLICKS}', {n} FROM messages"
        f" WHERE id = {row}.message_id AND campaign_id IS NOT NULL"
        " ON CONFLICT (campaign_id, state) DO UPDATE SET n = n + excluded.n; END"
    )
    for event, row, n in (("insert", "NEW", "1"), ("delete", "OLD", "-1"))
}


def _pg_click_deltas(rows: str, sign: str) -> str:
    return (
        "INSERT INTO campaign_count_deltas (campaign_id, state, n)"
        f" SELECT m.campaign_id, '{CLICKS}', {sign}count(*) FROM {rows} AS c"
        " JOIN messages AS m ON m.id = c.message_id"
        " WHERE NOT c.is_preview AND m.campaign_id IS NOT NULL GROUP BY m.campaign_id;"
    )


def _click_rollups_up(bind: Any) -> None:
    if bind.dialect.name == "postgresql":
        for event, rows, sign in (("insert", "new_rows", ""), ("delete", "old_rows", "-")):
            _create_pg_trigger(bind, "link_clicks", event, _pg_click_deltas(rows, sign))
    else:
        for name, body in _SQLITE_CLICK_TRIGGERS.items():
            bind.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
    bind.exec_driver_sql(
        "INSERT INTO campaign_counts (campaign_id, state, n)"
        f" SELECT m.campaign_id, '{CLICKS}', count(*) FROM link_clicks AS c"
        " JOIN messages AS m ON m.id = c.message_id"
        " WHERE NOT c.is_preview AND m.campaign_id IS NOT NULL GROUP BY m.campaign_id"
    )


def _rollups_up() -> None:
    op.create_table(
        "message_counts",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "account_id", "hour", "state", "reached", name=op.f("pk_message_counts")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "message_count_deltas",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reached", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_message_count_deltas_account_hour", "message_count_deltas", ["account_id", "hour"]
    )
    op.create_table(
        "campaign_counts",
        sa.Column("campaign_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "state", name=op.f("pk_campaign_counts")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "campaign_count_deltas",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_campaign_count_deltas_campaign", "campaign_count_deltas", ["campaign_id"])
    # Triggers first, then the backfill, in the same transaction: on PostgreSQL
    # CREATE TRIGGER locks out writers of messages until the commit, so no
    # message is counted twice or missed.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        hour = "date_trunc('hour', created_at)"
        for event, (_, rows) in _PG_ROWS.items():
            _create_pg_trigger(bind, "messages", event, _pg_deltas(rows))
    else:
        hour = _SQLITE_HOUR.format(row="messages")
        for name, body in _SQLITE_TRIGGERS.items():
            bind.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
    reached = _REACHED.format(row="messages")
    bind.exec_driver_sql(
        "INSERT INTO message_counts (account_id, hour, state, reached, n)"
        f" SELECT account_id, {hour}, state, {reached}, count(*) FROM messages"
        f" GROUP BY account_id, {hour}, state, {reached}"
    )
    bind.exec_driver_sql(
        "INSERT INTO campaign_counts (campaign_id, state, n)"
        " SELECT campaign_id, state, count(*) FROM messages WHERE campaign_id IS NOT NULL"
        " GROUP BY campaign_id, state"
    )
    _click_rollups_up(bind)


def _rollups_down() -> None:
    bind = op.get_bind()
    _drop_triggers(bind, "link_clicks", ("insert", "delete"))
    _drop_triggers(bind, "messages", ("insert", "update", "delete"))
    op.drop_table("campaign_count_deltas")
    op.drop_table("campaign_counts")
    op.drop_table("message_count_deltas")
    op.drop_table("message_counts")


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


# --- Activity rollups ---------------------------------------------------------
# (received SMS, calls by kind and qualification, link clicks, live contacts)


def _activity_rollups_up() -> None:
    pass


def _activity_rollups_down() -> None:
    pass


# --- Page indexes -------------------------------------------------------------
# (what the campaign, contact, list and call pages still lacked)


# A campaign's recipients, counted beside its states under the key RECIPIENTS
# by triggers on campaign_recipients: the campaigns list showed them with a
# COUNT per campaign, every recipient of every campaign of the page read each
# time (12 campaigns of 33,000: 20 ms on SQLite).
RECIPIENTS = "+recipients"

_SQLITE_RECIPIENT_TRIGGERS = {
    f"campaign_recipients_rollup_{event}": (
        f"AFTER {event.upper()} ON campaign_recipients BEGIN"
        " INSERT INTO campaign_counts (campaign_id, state, n)"
        f" VALUES ({row}.campaign_id, '{RECIPIENTS}', {n})"
        " ON CONFLICT (campaign_id, state) DO UPDATE SET n = n + excluded.n; END"
    )
    for event, row, n in (("insert", "NEW", "1"), ("delete", "OLD", "-1"))
}


def _pg_recipient_deltas(rows: str, sign: str) -> str:
    return (
        "INSERT INTO campaign_count_deltas (campaign_id, state, n)"
        f" SELECT campaign_id, '{RECIPIENTS}', {sign}count(*) FROM {rows} GROUP BY campaign_id;"
    )


# A list's live members (contacts not soft-deleted), counted in list_counts by
# triggers on list_members (a member in or out) and on contacts (deleted_at
# set or cleared): every list read joined each membership to its contact
# (the lists page 70 ms on PostgreSQL at 1M). As for messages, SQLite adds in
# place and PostgreSQL appends deltas that store/rollups.compact folds in.
# A contact is never deleted while a list holds it (the foreign key), so a
# member leaving is counted while its contact is still there.

# Named apart from the contacts_rollup_* triggers the activity section may
# give contacts (live contacts per account).
_CONTACT_TRIGGER = "contacts_list_counts_update"
_LIVE = "EXISTS (SELECT 1 FROM contacts WHERE id = {row}.contact_id AND deleted_at IS NULL)"

_SQLITE_MEMBER_TRIGGERS = {
    f"list_members_rollup_{event}": (
        f"AFTER {event.upper()} ON list_members WHEN {_LIVE.format(row=row)} BEGIN"
        f" INSERT INTO list_counts (list_id, n) VALUES ({row}.list_id, {n})"
        " ON CONFLICT (list_id) DO UPDATE SET n = n + excluded.n; END"
    )
    for event, row, n in (("insert", "NEW", "1"), ("delete", "OLD", "-1"))
} | {
    _CONTACT_TRIGGER: (
        "AFTER UPDATE OF deleted_at ON contacts"
        " WHEN (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at IS NULL) BEGIN"
        " INSERT INTO list_counts (list_id, n)"
        " SELECT list_id, CASE WHEN NEW.deleted_at IS NULL THEN 1 ELSE -1 END"
        " FROM list_members WHERE contact_id = NEW.id"
        " ON CONFLICT (list_id) DO UPDATE SET n = n + excluded.n; END"
    )
}


def _pg_member_deltas(rows: str, sign: str) -> str:
    # The members' contacts locked FOR SHARE first (in id order, as updates
    # by id take them): a concurrent soft delete of one of them then either
    # commits before this counts (and is seen) or waits for this transaction
    # (and counts this membership itself).
    return (
        f"PERFORM 1 FROM contacts WHERE id IN (SELECT contact_id FROM {rows})"
        " ORDER BY id FOR SHARE;"
        " INSERT INTO list_count_deltas (list_id, n)"
        f" SELECT m.list_id, {sign}count(*) FROM {rows} AS m"
        " JOIN contacts AS c ON c.id = m.contact_id"
        " WHERE c.deleted_at IS NULL GROUP BY m.list_id;"
    )


# A contact's change of liveness adds or takes one from each list it is in.
# (No UPDATE OF deleted_at: PostgreSQL allows no column list beside
# transition tables; other updates find no change and append nothing.)
_PG_CONTACT_DELTAS = (
    "INSERT INTO list_count_deltas (list_id, n)"
    " SELECT m.list_id, sum(CASE WHEN n.deleted_at IS NULL THEN 1 ELSE -1 END)"
    " FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id"
    " JOIN list_members AS m ON m.contact_id = n.id"
    " WHERE (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)"
    " GROUP BY m.list_id;"
)


def _member_counts_up(bind: Any) -> None:
    op.create_table(
        "list_counts",
        sa.Column("list_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_list_counts")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "list_count_deltas",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_list_count_deltas_list", "list_count_deltas", ["list_id"])
    if bind.dialect.name == "postgresql":
        for event, rows, sign in (("insert", "new_rows", ""), ("delete", "old_rows", "-")):
            _create_pg_trigger(bind, "list_members", event, _pg_member_deltas(rows, sign))
        bind.exec_driver_sql(
            f"CREATE FUNCTION simgate_{_CONTACT_TRIGGER}() RETURNS trigger"
            f" LANGUAGE plpgsql AS $$ BEGIN {_PG_CONTACT_DELTAS} RETURN NULL; END $$"
        )
        bind.exec_driver_sql(
            f"CREATE TRIGGER {_CONTACT_TRIGGER} AFTER UPDATE ON contacts"
            f" {_pg_referencing('update')} FOR EACH STATEMENT"
            f" EXECUTE FUNCTION simgate_{_CONTACT_TRIGGER}()"
        )
    else:
        for name, body in _SQLITE_MEMBER_TRIGGERS.items():
            bind.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
    bind.exec_driver_sql(
        "INSERT INTO list_counts (list_id, n)"
        " SELECT m.list_id, count(*) FROM list_members AS m"
        " JOIN contacts AS c ON c.id = m.contact_id"
        " WHERE c.deleted_at IS NULL GROUP BY m.list_id"
    )


def _page_indexes_up() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for event, rows, sign in (("insert", "new_rows", ""), ("delete", "old_rows", "-")):
            _create_pg_trigger(bind, "campaign_recipients", event, _pg_recipient_deltas(rows, sign))
    else:
        for name, body in _SQLITE_RECIPIENT_TRIGGERS.items():
            bind.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
    # After the triggers, in their transaction (as the Rollups section does).
    bind.exec_driver_sql(
        "INSERT INTO campaign_counts (campaign_id, state, n)"
        f" SELECT campaign_id, '{RECIPIENTS}', count(*) FROM campaign_recipients"
        " GROUP BY campaign_id"
    )
    _member_counts_up(bind)


def _page_indexes_down() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_CONTACT_TRIGGER} ON contacts")
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS simgate_{_CONTACT_TRIGGER}()")
    else:
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {_CONTACT_TRIGGER}")
    _drop_triggers(bind, "list_members", ("insert", "delete"))
    op.drop_table("list_count_deltas")
    op.drop_table("list_counts")
    _drop_triggers(bind, "campaign_recipients", ("insert", "delete"))
    for table in ("campaign_count_deltas", "campaign_counts"):
        bind.exec_driver_sql(f"DELETE FROM {table} WHERE state = '{RECIPIENTS}'")
