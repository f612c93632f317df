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


def _create_pg_trigger(
    bind: Any, table: str, event: str, body: str, purpose: str = "rollup"
) -> None:
    """A statement trigger `<table>_<purpose>_<event>` running `body` (SQL over
    its transition tables) through a function of its own."""
    name = f"{table}_{purpose}_{event}"
    bind.exec_driver_sql(
        f"CREATE FUNCTION simgate_{name}() RETURNS trigger"
        f" LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
    )
    bind.exec_driver_sql(
        f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table}"
        f" {_pg_referencing(event)} FOR EACH STATEMENT EXECUTE FUNCTION simgate_{name}()"
    )


def _drop_triggers(bind: Any, table: str, events: tuple[str, ...], purpose: str = "rollup") -> None:
    """Drop the triggers `<table>_<purpose>_<event>` (and their functions on PostgreSQL)."""
    postgres = bind.dialect.name == "postgresql"
    for event in events:
        name = f"{table}_{purpose}_{event}"
        on = f" ON {table}" if postgres else ""
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{on}")
        if postgres:
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS simgate_{name}()")


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


# Counted per account and UTC hour under a key (domain/activity.py): received
# SMS by received_at; clicks by people and by previews by clicked_at; calls by
# kind, the qualified ones and their qualifications' labels, all by the CALL's
# call_time (a call is qualified after it happened, and counts in its own
# hour). Live contacts per account, not per hour. Same pattern as the message
# rollups above: SQLite row triggers add in place, PostgreSQL statement
# triggers append deltas that store/rollups.compact folds in.
#
# Traps:
# - "qualified" is whether a call has ANY qualification: a qualification's
#   triggers count the call's first one in and its last one out. On
#   PostgreSQL two transactions qualifying one call at once would each see no
#   other: the trigger locks the calls first (FOR NO KEY UPDATE, which the
#   foreign key's KEY SHARE does not block), so the second waits and then
#   counts with the first one's row in sight (each statement of a plpgsql
#   function takes a new snapshot under READ COMMITTED).
# - a label is free text up to 40,000 characters and a PostgreSQL B-tree key
#   holds about 2,700 bytes: longer than LONG_LABEL bytes, its key holds its
#   md5 instead (`label#`) and the read looks the text up.

ACTIVITY_EVENTS = ("insert", "update", "delete")
LONG_LABEL = 1000


def _sqlite_hour(at: str) -> str:
    return f"strftime('%Y-%m-%d %H:00:00.000000', {at})"


def _label_key(q: str, postgres: bool) -> str:
    if not postgres:
        return f"'label:' || coalesce({q}.option_id, '') || ':' || {q}.text"
    option = f"coalesce({q}.option_id::text, '')"
    return (
        f"CASE WHEN octet_length({q}.text) <= {LONG_LABEL}"
        f" THEN 'label:' || {option} || ':' || {q}.text"
        f" ELSE 'label#' || {option} || ':' || md5({q}.text) END"
    )


def _click_key(row: str) -> str:
    return f"CASE WHEN {row}.is_preview THEN 'preview' ELSE 'click' END"


def _sqlite_upsert(select: str) -> str:
    """Add the (account_id, hour, key, n) rows of `select` (which has a WHERE)."""
    return (
        f"INSERT INTO activity_counts (account_id, hour, key, n) {select}"
        " ON CONFLICT (account_id, hour, key) DO UPDATE SET n = n + excluded.n;"
    )


def _sqlite_received(row: str, n: str) -> str:
    hour = _sqlite_hour(f"{row}.received_at")
    return _sqlite_upsert(f"SELECT {row}.account_id, {hour}, 'received', {n} WHERE true")


def _sqlite_click(row: str, n: str) -> str:
    hour = _sqlite_hour(f"{row}.clicked_at")
    return _sqlite_upsert(
        f"SELECT {row}.account_id, {hour}, {_click_key(row)}, {n}"
        f" WHERE {row}.account_id IS NOT NULL"
    )


def _sqlite_call(row: str, n: str) -> str:
    """A call's whole contribution: its kind, whether qualified, its labels."""
    hour = _sqlite_hour(f"{row}.call_time")
    return (
        _sqlite_upsert(f"SELECT {row}.account_id, {hour}, 'call:' || {row}.kind, {n} WHERE true")
        + _sqlite_upsert(
            f"SELECT {row}.account_id, {hour}, 'qualified:' || {row}.kind, {n}"
            f" WHERE EXISTS (SELECT 1 FROM qualifications WHERE call_id = {row}.id)"
        )
        + _sqlite_upsert(
            f"SELECT {row}.account_id, {hour}, {_label_key('q', False)}, {n} * count(*)"
            f" FROM qualifications AS q"
            f" WHERE q.call_id = {row}.id AND q.account_id = {row}.account_id"
            f" GROUP BY {_label_key('q', False)}"
        )
    )


def _sqlite_label(row: str, n: str) -> str:
    return _sqlite_upsert(
        f"SELECT c.account_id, {_sqlite_hour('c.call_time')}, {_label_key(row, False)}, {n}"
        f" FROM calls AS c WHERE c.id = {row}.call_id AND c.account_id = {row}.account_id"
    )


def _sqlite_qualified(row: str, n: str, others: str, when: str = "true") -> str:
    """Count the call of `row` in (n = 1) or out (-1) when no qualification
    other than `others` (a condition on q) has it."""
    return _sqlite_upsert(
        f"SELECT c.account_id, {_sqlite_hour('c.call_time')}, 'qualified:' || c.kind, {n}"
        f" FROM calls AS c WHERE c.id = {row}.call_id AND {when} AND NOT EXISTS"
        f" (SELECT 1 FROM qualifications AS q WHERE q.call_id = {row}.call_id AND {others})"
    )


def _sqlite_contact(row: str, n: str) -> str:
    return (
        f"INSERT INTO contact_counts (account_id, n) SELECT {row}.account_id, {n}"
        f" WHERE {row}.deleted_at IS NULL"
        " ON CONFLICT (account_id) DO UPDATE SET n = n + excluded.n;"
    )


def _changed(*columns: str) -> str:
    return " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in columns)


_CALL_MOVED = "OLD.call_id IS NOT NEW.call_id"
# table → (columns an update must change to count, what a row adds/removes)
_SQLITE_ACTIVITY = {
    "incoming_sms": (("account_id", "received_at"), _sqlite_received),
    "link_clicks": (("account_id", "clicked_at", "is_preview"), _sqlite_click),
    "calls": (("account_id", "call_time", "kind"), _sqlite_call),
}


def _sqlite_activity_triggers() -> dict[str, str]:
    triggers: dict[str, str] = {}
    for table, (columns, add) in _SQLITE_ACTIVITY.items():
        triggers[f"{table}_activity_insert"] = (
            f"AFTER INSERT ON {table} BEGIN {add('NEW', '1')} END"
        )
        triggers[f"{table}_activity_update"] = (
            f"AFTER UPDATE OF {', '.join(columns)} ON {table} WHEN {_changed(*columns)}"
            f" BEGIN {add('OLD', '-1')} {add('NEW', '1')} END"
        )
        triggers[f"{table}_activity_delete"] = (
            f"AFTER DELETE ON {table} BEGIN {add('OLD', '-1')} END"
        )
    label_columns = ("call_id", "account_id", "text", "option_id")
    triggers["qualifications_activity_insert"] = (
        f"AFTER INSERT ON qualifications BEGIN {_sqlite_label('NEW', '1')}"
        f" {_sqlite_qualified('NEW', '1', 'q.id <> NEW.id')} END"
    )
    triggers["qualifications_activity_update"] = (
        f"AFTER UPDATE OF {', '.join(label_columns)} ON qualifications"
        f" WHEN {_changed(*label_columns)} BEGIN"
        f" {_sqlite_label('OLD', '-1')} {_sqlite_label('NEW', '1')}"
        f" {_sqlite_qualified('OLD', '-1', 'true', _CALL_MOVED)}"
        f" {_sqlite_qualified('NEW', '1', 'q.id <> NEW.id', _CALL_MOVED)} END"
    )
    triggers["qualifications_activity_delete"] = (
        f"AFTER DELETE ON qualifications BEGIN {_sqlite_label('OLD', '-1')}"
        f" {_sqlite_qualified('OLD', '-1', 'true')} END"
    )
    triggers["contacts_activity_insert"] = (
        f"AFTER INSERT ON contacts BEGIN {_sqlite_contact('NEW', '1')} END"
    )
    triggers["contacts_activity_update"] = (
        "AFTER UPDATE OF account_id, deleted_at ON contacts WHEN OLD.account_id IS NOT"
        " NEW.account_id OR (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at IS NULL)"
        f" BEGIN {_sqlite_contact('OLD', '-1')} {_sqlite_contact('NEW', '1')} END"
    )
    triggers["contacts_activity_delete"] = (
        f"AFTER DELETE ON contacts BEGIN {_sqlite_contact('OLD', '-1')} END"
    )
    return triggers


def _pg_activity_deltas(keyed: str) -> str:
    """Append the net change per key of `keyed` (account_id, hour, key, n rows
    over `m`, the statement's signed rows)."""
    return (
        " INSERT INTO activity_count_deltas (account_id, hour, key, n)"
        f" SELECT account_id, hour, key, sum(n) FROM ({keyed}) AS k"
        " GROUP BY account_id, hour, key HAVING sum(n) <> 0;"
    )


def _pg_keyed(table: str) -> str:
    hour = "date_trunc('hour', {at}) AS hour"
    if table == "incoming_sms":
        return (
            f"SELECT m.account_id, {hour.format(at='m.received_at')}, 'received'::text AS key,"
            " m.n FROM m"
        )
    if table == "link_clicks":
        return (
            f"SELECT m.account_id, {hour.format(at='m.clicked_at')}, {_click_key('m')} AS key,"
            " m.n FROM m WHERE m.account_id IS NOT NULL"
        )
    if table == "calls":
        call_hour = hour.format(at="m.call_time")
        return (
            f"SELECT m.account_id, {call_hour}, 'call:' || m.kind AS key, m.n FROM m"
            f" UNION ALL SELECT m.account_id, {call_hour}, 'qualified:' || m.kind, m.n FROM m"
            " WHERE EXISTS (SELECT 1 FROM qualifications AS q WHERE q.call_id = m.id)"
            f" UNION ALL SELECT m.account_id, {call_hour}, {_label_key('q', True)}, m.n FROM m"
            " JOIN qualifications AS q ON q.call_id = m.id AND q.account_id = m.account_id"
        )
    assert table == "qualifications"
    call_hour = hour.format(at="c.call_time")
    return (
        f"SELECT c.account_id, {call_hour}, {_label_key('m', True)} AS key, m.n FROM m"
        " JOIN calls AS c ON c.id = m.call_id AND c.account_id = m.account_id"
        # A call's qualified count moves when its qualifications go from none
        # to some or back: `live` now, `live - change` before the statement.
        f" UNION ALL SELECT c.account_id, {call_hour}, 'qualified:' || c.kind,"
        " (live.n > 0)::int - (live.n - x.change > 0)::int"
        " FROM (SELECT call_id, sum(n) AS change FROM m WHERE call_id IS NOT NULL"
        " GROUP BY call_id) AS x JOIN calls AS c ON c.id = x.call_id"
        " CROSS JOIN LATERAL (SELECT count(*) AS n FROM qualifications AS q"
        " WHERE q.call_id = x.call_id) AS live"
    )


def _pg_activity_body(table: str, event: str) -> str:
    _, signed = _PG_ROWS[event]
    if table == "contacts":
        return (
            f"WITH m AS ({signed}) INSERT INTO contact_count_deltas (account_id, n)"
            " SELECT account_id, sum(n) FROM m WHERE deleted_at IS NULL"
            " GROUP BY account_id HAVING sum(n) <> 0;"
        )
    body = f"WITH m AS ({signed}){_pg_activity_deltas(_pg_keyed(table))}"
    if table == "qualifications":
        rows = {"insert": "new_rows", "delete": "old_rows"}.get(event)
        ids = (
            f"SELECT call_id FROM {rows}"
            if rows
            else "SELECT call_id FROM old_rows UNION SELECT call_id FROM new_rows"
        )
        body = f"PERFORM 1 FROM calls WHERE id IN ({ids}) ORDER BY id FOR NO KEY UPDATE; {body}"
    return body


_ACTIVITY_TABLES = ("incoming_sms", "link_clicks", "calls", "qualifications", "contacts")


def _activity_backfill(postgres: bool) -> tuple[str, str]:
    """(activity_counts, contact_counts) from the rows already stored."""

    def hour(at: str) -> str:
        return f"date_trunc('hour', {at})" if postgres else _sqlite_hour(at)

    keyed = (
        f"SELECT account_id, {hour('received_at')} AS hour, 'received' AS key, count(*) AS n"
        " FROM incoming_sms GROUP BY 1, 2"
        f" UNION ALL SELECT account_id, {hour('clicked_at')}, {_click_key('link_clicks')},"
        " count(*) FROM link_clicks WHERE account_id IS NOT NULL GROUP BY 1, 2, 3"
        f" UNION ALL SELECT account_id, {hour('call_time')}, 'call:' || kind, count(*)"
        " FROM calls GROUP BY 1, 2, 3"
        f" UNION ALL SELECT account_id, {hour('c.call_time')}, 'qualified:' || kind, count(*)"
        " FROM calls AS c WHERE EXISTS (SELECT 1 FROM qualifications AS q"
        " WHERE q.call_id = c.id) GROUP BY 1, 2, 3"
        f" UNION ALL SELECT c.account_id, {hour('c.call_time')}, {_label_key('q', postgres)},"
        " count(*) FROM qualifications AS q"
        " JOIN calls AS c ON c.id = q.call_id AND c.account_id = q.account_id GROUP BY 1, 2, 3"
    )
    return (
        "INSERT INTO activity_counts (account_id, hour, key, n)"
        f" SELECT account_id, hour, key, sum(n) FROM ({keyed}) AS k"
        " GROUP BY account_id, hour, key",
        "INSERT INTO contact_counts (account_id, n) SELECT account_id, count(*)"
        " FROM contacts WHERE deleted_at IS NULL GROUP BY account_id",
    )


def _activity_rollups_up() -> None:
    op.create_table(
        "activity_counts",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "hour", "key", name=op.f("pk_activity_counts")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "activity_count_deltas",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_activity_count_deltas_account_hour", "activity_count_deltas", ["account_id", "hour"]
    )
    op.create_table(
        "contact_counts",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_contact_counts")),
    )
    op.create_table(
        "contact_count_deltas",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_contact_count_deltas_account", "contact_count_deltas", ["account_id"])
    # Triggers, then the backfill, in one transaction (as for the message rollups).
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        for table in _ACTIVITY_TABLES:
            for event in ACTIVITY_EVENTS:
                body = _pg_activity_body(table, event)
                _create_pg_trigger(bind, table, event, body, purpose="activity")
    else:
        for name, body in _sqlite_activity_triggers().items():
            bind.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
    for statement in _activity_backfill(postgres):
        bind.exec_driver_sql(statement)


def _activity_rollups_down() -> None:
    bind = op.get_bind()
    for table in reversed(_ACTIVITY_TABLES):
        _drop_triggers(bind, table, ACTIVITY_EVENTS, purpose="activity")
    op.drop_table("contact_count_deltas")
    op.drop_table("contact_counts")
    op.drop_table("activity_count_deltas")
    op.drop_table("activity_counts")


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
